/* fr-tap's opening of encrypted packets (tap_keys.h). */
#include "tap_keys.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "../../lib/quic/wire.h"
#include "../../lib/splice/frames.h"
#include "../../lib/util/qvarint.h"

#define CID_MAX 20
#define KEY_LEN 32
#define IV_LEN 12
#define SAMPLE_LEN 16
#define TAG_LEN 16
#define HEAD_LEN 24 /* FR_TAP_HEAD: a stream's first bytes, at offset 0 */

typedef struct entry {
    uint8_t cid[CID_MAX];
    size_t cidlen;
    uint8_t key[KEY_LEN];
    uint8_t iv[IV_LEN];
    uint8_t hp[KEY_LEN];
    uint64_t largest; /* the largest packet number seen under it */
    int any;
} entry;

struct tap_keys {
    char *path;
    size_t dcid_len;
    entry *e;
    size_t n;
    size_t cap;
};

static int unhex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;

        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return s[2 * n] == '\0' || s[2 * n] == ' ' || s[2 * n] == '\n' ? 0 : -1;
}

static entry *find(tap_keys *t, const uint8_t *cid)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->e[i].cidlen == t->dcid_len &&
            memcmp(t->e[i].cid, cid, t->dcid_len) == 0)
            return &t->e[i];
    return NULL;
}

/* Adds the log's entries not known yet. */
static void reload(tap_keys *t)
{
    FILE *f = fopen(t->path, "r");
    char cid[2 * CID_MAX + 1], key[2 * KEY_LEN + 1], iv[2 * IV_LEN + 1],
        hp[2 * KEY_LEN + 1];

    if (!f)
        return;
    while (fscanf(f, "%40s %64s %24s %64s", cid, key, iv, hp) == 4) {
        entry e = {0};

        e.cidlen = strlen(cid) / 2;
        if (e.cidlen != t->dcid_len || unhex(cid, e.cid, e.cidlen) ||
            unhex(key, e.key, KEY_LEN) || unhex(iv, e.iv, IV_LEN) ||
            unhex(hp, e.hp, KEY_LEN) || find(t, e.cid))
            continue;
        if (t->n == t->cap) {
            size_t cap = t->cap ? 2 * t->cap : 16;
            entry *p = realloc(t->e, cap * sizeof(*p));

            if (!p)
                break;
            t->e = p;
            t->cap = cap;
        }
        t->e[t->n++] = e;
    }
    fclose(f);
}

tap_keys *tap_keys_new(const char *path, size_t dcid_len)
{
    tap_keys *t = calloc(1, sizeof(*t));

    if (!t || !(t->path = strdup(path))) {
        free(t);
        return NULL;
    }
    t->dcid_len = dcid_len;
    reload(t);
    return t;
}

void tap_keys_del(tap_keys *t)
{
    if (!t)
        return;
    free(t->e);
    free(t->path);
    free(t);
}

/* ChaCha20 from block `counter` of `nonce` (RFC 8439) over in[0..n). */
static int chacha20(const uint8_t key[KEY_LEN], uint32_t counter,
                    const uint8_t nonce[IV_LEN], const uint8_t *in,
                    uint8_t *out, size_t n)
{
    uint8_t iv[4 + IV_LEN];
    gnutls_datum_t k = {(unsigned char *)key, KEY_LEN};
    gnutls_datum_t v = {iv, sizeof(iv)};
    gnutls_cipher_hd_t hd;
    int rv;

    for (int i = 0; i < 4; i++)
        iv[i] = (uint8_t)(counter >> (8 * i));
    memcpy(iv + 4, nonce, IV_LEN);
    if (gnutls_cipher_init(&hd, GNUTLS_CIPHER_CHACHA20_32, &k, &v))
        return -1;
    rv = gnutls_cipher_encrypt2(hd, in, n, out, n);
    gnutls_cipher_deinit(hd);
    return rv ? -1 : 0;
}

/* One CSV line, as fr-tap's cleartext records are written. */
static void line(FILE *out, const struct fr_tap_raw *r, uint64_t conn,
                 uint64_t stream, uint64_t offset, uint64_t length,
                 const uint8_t *head)
{
    fprintf(out, "%" PRIu64 ",%016" PRIx64 ",%u,%u,%" PRIu64 ",%" PRIu64
                 ",%" PRIu64 ",%u,",
            (uint64_t)r->time_ns, conn, r->sport, r->dport, stream, offset,
            length, r->mark);
    for (int i = 0; head && i < HEAD_LEN; i++)
        fprintf(out, "%02x", head[i]);
    fputc('\n', out);
}

/* Whether a stream ID is one the benchmark's sessions could use: a wrong
 * key or packet number makes noise of the plaintext (no tag is checked). */
#define STREAM_ID_MAX (UINT64_C(1) << 32)

/* The STREAM frames at the front of plaintext p (cap bytes captured of a
 * payload of `total` bytes): how many, or -1 for a plaintext that does
 * not parse as frames (the key or packet number was wrong). With out
 * NULL, only checks. */
static int frames(FILE *out, const struct fr_tap_raw *r, uint64_t conn,
                  const uint8_t *p, size_t cap, size_t total)
{
    size_t pos = 0;
    int n = 0;

    if (cap > total)
        cap = total;
    while (pos < cap) {
        uint64_t type, stream, offset = 0, length;
        size_t data;

        if (fr_qvarint_get(p, cap, &pos, &type))
            break;
        if (type == FR_FRAME_PADDING)
            return n;
        if (!FR_FRAME_IS_STREAM(type)) {
            if (fr_frame_skip_body(p, cap, &pos, type))
                return n ? n : -1;
            continue;
        }
        if (fr_qvarint_get(p, cap, &pos, &stream) ||
            ((type & 0x04) && fr_qvarint_get(p, cap, &pos, &offset)) ||
            ((type & 0x02) && fr_qvarint_get(p, cap, &pos, &length)))
            break;
        if (!(type & 0x02))
            length = total - pos;
        if (stream >= STREAM_ID_MAX || length > total - pos)
            return -1;
        data = pos;
        if (out)
            line(out, r, conn, stream, offset, length,
                 offset == 0 && length >= HEAD_LEN && data + HEAD_LEN <= cap
                     ? p + data
                     : NULL);
        n++;
        pos += (size_t)length;
    }
    return n;
}

int tap_keys_lines(tap_keys *t, const struct fr_tap_raw *r, FILE *out)
{
    static const uint8_t zeros[5];
    size_t at = 1 + t->dcid_len, hlen, cap = r->caplen;
    uint8_t hdr[64], mask[5], nonce[IV_LEN], plain[FR_TAP_RAW];
    fr_short_hdr h;
    uint64_t pn, conn = 0;
    entry *e;

    if (cap > FR_TAP_RAW || cap < at + 4 + SAMPLE_LEN || r->len < cap)
        return -1;
    e = find(t, r->bytes + 1);
    if (!e) {
        reload(t);
        e = find(t, r->bytes + 1);
    }
    if (!e || chacha20(e->hp, (uint32_t)r->bytes[at + 4] |
                                   (uint32_t)r->bytes[at + 5] << 8 |
                                   (uint32_t)r->bytes[at + 6] << 16 |
                                   (uint32_t)r->bytes[at + 7] << 24,
                       r->bytes + at + 8, zeros, mask, sizeof(mask)))
        return -1;
    memcpy(hdr, r->bytes, at + 4);
    hdr[0] ^= mask[0] & 0x1f;
    hlen = at + (size_t)(hdr[0] & 3) + 1;
    for (size_t i = at; i < hlen; i++)
        hdr[i] ^= mask[1 + i - at];
    if (fr_wire_parse_short(hdr, hlen, t->dcid_len, &h) ||
        r->len < hlen + TAG_LEN)
        return -1;
    pn = fr_wire_pn_decode(e->any, e->largest, h.pn_trunc, h.pn_len);
    memcpy(nonce, e->iv, IV_LEN);
    for (int i = 0; i < 8; i++)
        nonce[IV_LEN - 1 - i] ^= (uint8_t)(pn >> (8 * i));
    if (chacha20(e->key, 1, nonce, r->bytes + hlen, plain, cap - hlen))
        return -1;
    memcpy(&conn, r->bytes + 1, t->dcid_len >= 8 ? 8 : 4);
    /* Checked before it counts: a packet number decoded wrong would spoil
     * the decoding of every later one. */
    if (frames(NULL, r, conn, plain, cap - hlen, r->len - hlen - TAG_LEN) < 0)
        return -1;
    if (!e->any || pn > e->largest)
        e->largest = pn;
    e->any = 1;
    return frames(out, r, conn, plain, cap - hlen, r->len - hlen - TAG_LEN);
}
