/* Two MoQT sessions over the simulated link, for tests. */
#include "fr_test.h"

#include "moq_glue.h"
#include "moq_pair.h"

const char *fr_moq_pair_webtransport;

static int q_accept(fr_quic_conn *c, void *ud)
{
    fr_moq_pair *p = fr_sim_app(ud);

    return fr_moq_session_new(&p->ss, c, &p->cb, &p->server_settings, p->ud);
}

static void q_closed(fr_quic_conn *c, const fr_quic_close_info *info,
                     void *ud)
{
    fr_moq_pair *p = fr_sim_app(ud);

    if (fr_glue_session(c)) {
        fr_moq_session_on_closed(fr_glue_session(c), info);
    } else if (!fr_quic_conn_is_server(c)) {
        p->raw_closed = 1;
        p->raw_close_code = info->error_code;
    }
}

void fr_moq_pair_setup(fr_moq_pair *p, const fr_moq_callbacks *cb, void *ud,
                       fr_crypto_mode mode, int raw_client,
                       void (*client_quic)(fr_quic_callbacks *cb,
                                           fr_quic_settings *s))
{
    fr_quic_callbacks ccb = {0}, scb = {0};
    fr_quic_settings cs, ss;
    fr_moq_settings ms;
    size_t len;

    memset(p, 0, sizeof(*p));
    p->cb = *cb;
    p->ud = ud;
    fr_moq_settings_default(&p->server_settings);
    p->server_settings.webtransport_path = fr_moq_pair_webtransport;
    p->sim = fr_sim_new(2 * FR_MILLISECONDS);
    fr_sim_set_app(p->sim, p);
    fr_glue_callbacks(&ccb);
    fr_glue_callbacks(&scb);
    ccb.closed = scb.closed = q_closed;
    scb.accept = q_accept;
    assert_int_equal(fr_cert_generate(&p->cert, "198.18.0.2"), 0);
    fr_quic_settings_default(&cs);
    fr_quic_settings_default(&ss);
    cs.alpn = ss.alpn = fr_moq_pair_webtransport ? "h3" : FR_MOQ_ALPNS;
    cs.crypto_mode = ss.crypto_mode = mode;
    cs.ca_pem = fr_cert_pem(p->cert, &len);
    cs.ca_pem_len = len;
    ss.cert = p->cert;
    ss.accept_connections = 1;
    if (client_quic)
        client_quic(&ccb, &cs);
    fr_sim_bind(p->sim, &ccb, &scb);
    assert_int_equal(fr_quic_endpoint_new(&p->client, &ccb, &cs,
                                          fr_sim_client_ud(p->sim)),
                     0);
    assert_int_equal(fr_quic_endpoint_new(&p->server, &scb, &ss,
                                          fr_sim_server_ud(p->sim)),
                     0);
    fr_sim_set_endpoints(p->sim, p->client, p->server);
    assert_int_equal(fr_quic_endpoint_connect(p->client, &p->conn,
                                              fr_sim_client_path(),
                                              "198.18.0.2", NULL,
                                              fr_sim_now(p->sim)),
                     0);
    fr_moq_settings_default(&ms);
    ms.webtransport_path = fr_moq_pair_webtransport;
    if (!raw_client)
        assert_int_equal(fr_moq_session_new(&p->cs, p->conn, &p->cb, &ms,
                                            p->ud),
                         0);
}

void fr_moq_pair_teardown(fr_moq_pair *p)
{
    fr_glue_del_sessions(p->client);
    fr_glue_del_sessions(p->server);
    fr_quic_endpoint_del(p->client);
    fr_quic_endpoint_del(p->server);
    fr_cert_del(p->cert);
    fr_sim_del(p->sim);
}
