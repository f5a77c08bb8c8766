/*
 * tls mode: the slots' 1-RTT keys (fr_fp_keys). A subscriber slot holds
 * our keys, which the egress program seals its copies with (the splice
 * layer keeps each generation under its key-phase bit from before ngtcp2
 * uses it); an upstream slot holds the origin's, which the ingress
 * program opens with (lib/quic keeps the client connection's receive
 * keys, the next generation ahead of the origin's update). A connection
 * whose suite is not ChaCha20-Poly1305 stays in userspace: fallback
 * `cipher`.
 */
#include <string.h>

#include <fastrelay/error.h>

#include "fastpath_internal.h"

typedef int (*keys_getter)(const fr_quic_conn *c, int phase,
                           fr_packet_keys *k);

/* Both phases' keys of `c` as the maps hold them. Returns 0 if at least
 * one phase has keys, FR_ERR_UNSUPPORTED for another suite, else
 * FR_ERR_INVALID_STATE. */
static int keys_of(const fr_quic_conn *c, keys_getter get,
                   struct fr_fp_keys *out)
{
    int have = 0;

    memset(out, 0, sizeof(*out));
    for (int phase = 0; phase < 2; phase++) {
        fr_packet_keys k;
        int rv = get(c, phase, &k);

        if (rv == FR_ERR_UNSUPPORTED)
            return rv;
        if (rv)
            continue;
        memcpy(out->hp, k.hp, sizeof(out->hp));
        memcpy(out->phase[phase].key, k.key, sizeof(out->phase[phase].key));
        memcpy(out->phase[phase].iv, k.iv, sizeof(out->phase[phase].iv));
        out->phase[phase].set = 1;
        have = 1;
        memset(&k, 0, sizeof(k));
    }
    return have ? 0 : FR_ERR_INVALID_STATE;
}

/* Writes c's keys into `slot`. */
static int write_keys(fr_fastpath *fp, uint32_t slot, const fr_quic_conn *c,
                      keys_getter get)
{
    struct fr_fp_keys keys;
    int rv = keys_of(c, get, &keys);

    if (rv == 0)
        rv = fr_fp_kernel_keys_set(fp->k, slot, &keys);
    memset(&keys, 0, sizeof(keys));
    return rv;
}

int fr_fp_keys_sub(fr_fastpath *fp, fr_quic_conn *c, uint32_t slot)
{
    return fp->tls ? write_keys(fp, slot, c, fr_splice_keys) : 0;
}

int fr_fp_keys_up(fr_fastpath *fp, fp_up *u)
{
    uint32_t changes;
    int rv;

    if (!fp->tls)
        return 0;
    changes = fr_conn_rx_keys_changes(u->c);
    if (u->keys_written && u->keys_changes == changes)
        return 0;
    rv = write_keys(fp, u->slot, u->c, fr_conn_rx_keys);
    if (rv == 0) {
        u->keys_changes = changes;
        u->keys_written = 1;
    }
    return rv;
}

/* The ingress program decodes the upstream's truncated packet numbers
 * against the largest it opened. The packets it did not open (those that
 * came before its attachment or its slot, or while it failed) leave that
 * record behind, and a one-byte number decodes wrong once the record is
 * 128 behind; so userspace, which opens every packet after it, raises the
 * record to its own whenever that moved PN_STEP ahead of the last raise:
 * a map lookup per PN_STEP upstream packets. */
#define PN_STEP 32

void fr_fp_pn_up(fr_fastpath *fp, fp_up *u)
{
    uint64_t pn;

    if (!fp->tls || fr_conn_rx_largest_pn(u->c, &pn) ||
        (u->pn_raised && pn + 1 < u->pn_raised + PN_STEP))
        return;
    fr_fp_kernel_rx_pn_raise(fp->k, u->slot, pn + 1);
    u->pn_raised = pn + 1;
}

int fr_fp_suite_refused(const fr_fastpath *fp, const fr_quic_conn *c)
{
    fr_packet_keys k;
    int refused = fp->tls && fr_splice_keys(c, 0, &k) == FR_ERR_UNSUPPORTED;

    memset(&k, 0, sizeof(k));
    return refused;
}

void fr_fp_keys_changed(void *arg, fr_quic_conn *c, int phase)
{
    fr_fastpath *fp = arg;
    fp_sub *d = fr_splice_ref(c);

    (void)phase;
    if (d)
        fr_fp_keys_sub(fp, c, d->slot);
    else if (fr_fp_suite_refused(fp, c))
        fp->cipher_refused++;
}
