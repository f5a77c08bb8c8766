/* What the layers above lib/quic read of it (conn_view.h). */
#include "conn_view.h"

#include "quic_internal.h"

ngtcp2_conn *fr_conn_ngtcp2(const fr_quic_conn *c)
{
    return c->conn;
}

size_t fr_conn_local_cids(const fr_quic_conn *c, const ngtcp2_cid **cids,
                          uint32_t *gen)
{
    *cids = c->scids;
    *gen = c->cid_gen;
    return c->nscids;
}

const fr_quic_settings *fr_ep_settings(const fr_quic_endpoint *ep)
{
    return &ep->settings;
}
