/*
 * Connection hooks (conn_hooks.h): setting them, and what the layer that
 * set them reads back.
 */
#include "quic_internal.h"

void fr_conn_hooks_set(fr_quic_endpoint *ep, const fr_conn_hooks *hooks,
                       void *arg)
{
    ep->hooks = hooks;
    ep->hooks_arg = arg;
}

void *fr_conn_hooks_arg(const fr_quic_conn *c)
{
    return c->ep->hooks_arg;
}

void *fr_conn_ext(const fr_quic_conn *c)
{
    return c->ext;
}

int fr_conn_is_active(const fr_quic_conn *c)
{
    return c->state == FR_CONN_ACTIVE;
}

uint64_t fr_conn_hooks_lost(const fr_quic_endpoint *ep)
{
    return ep->hooked_lost;
}
