/* Unit tests of the example tools library (examples/common): IVF files and
 * key-frame detection (checked against ffprobe on files ffmpeg encodes at
 * test time), the object payload format, the synthetic source, delay
 * statistics, the JSON writer and option parsing. */
#include "fr_test.h"

#include <dirent.h>
#include <errno.h>
#include <math.h> /* NAN, INFINITY */

#include "cli.h"
#include "crc32c.h"
#include "errors.h"
#include "ivf.h"
#include "json.h"
#include "media.h"
#include "stats.h"

/* Scratch directory of this run, removed at the end. */
static char tmpdir[64];

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/fr-test-tools-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

/* Removes the scratch directory; every test writes its files directly in
 * it. */
static int group_teardown(void **state)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char path[512];

    (void)state;
    if (!d)
        return -1;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    closedir(d);
    return rmdir(tmpdir);
}

static void tmp_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_errors(void **state)
{
    (void)state;
    assert_string_equal(frt_strerror(0), "success");
    assert_string_equal(frt_strerror(FRT_ERR_CHECKSUM), "checksum mismatch");
    assert_string_equal(frt_strerror(FRT_ERR_TRUNCATED), "truncated data");
    assert_string_equal(frt_strerror(-1000), "unknown error");
}

/* ---- IVF ---------------------------------------------------------------- */

#define RT_FRAMES 20

static size_t rt_frame_len(int i)
{
    return i == 3 ? 0 : (size_t)(i * 97 % 1500 + 1);
}

static void rt_frame(int i, uint8_t *buf)
{
    for (size_t k = 0; k < rt_frame_len(i); k++)
        buf[k] = (uint8_t)(i * 31 + k * 7);
}

static void test_ivf_roundtrip(void **state)
{
    frt_ivf_header h = {FRT_FOURCC_VP9, 640, 360, 90000, 1, 999};
    frt_ivf_writer w;
    frt_ivf_reader r;
    uint8_t expect[1500], raw[32];
    const uint8_t *data;
    size_t len;
    uint64_t pts;
    char path[128];
    FILE *f;

    (void)state;
    tmp_path(path, sizeof(path), "rt.ivf");
    assert_int_equal(frt_ivf_create(&w, path, &h), 0);
    for (int i = 0; i < RT_FRAMES; i++) {
        rt_frame(i, expect);
        assert_int_equal(frt_ivf_write_frame(&w, expect, rt_frame_len(i),
                                             (uint64_t)i * 3000 +
                                                 (1ull << 40)),
                         0);
    }
    assert_int_equal(frt_ivf_finish(&w), 0);

    /* The header bytes, with the frame count rewritten. */
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(raw, 1, sizeof(raw), f), sizeof(raw));
    fclose(f);
    assert_memory_equal(raw,
                        "DKIF\0\0\x20\0VP90\x80\x02\x68\x01"
                        "\x90\x5f\x01\0\x01\0\0\0\x14\0\0\0\0\0\0\0",
                        32);

    assert_int_equal(frt_ivf_open(&r, path), 0);
    assert_int_equal(r.hdr.fourcc, FRT_FOURCC_VP9);
    assert_int_equal(r.hdr.width, 640);
    assert_int_equal(r.hdr.height, 360);
    assert_int_equal(r.hdr.tb_den, 90000);
    assert_int_equal(r.hdr.tb_num, 1);
    assert_int_equal(r.hdr.frame_count, RT_FRAMES);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < RT_FRAMES; i++) {
            rt_frame(i, expect);
            assert_int_equal(frt_ivf_read_frame(&r, &data, &len, &pts), 1);
            assert_int_equal(len, rt_frame_len(i));
            if (len > 0)
                assert_memory_equal(data, expect, len);
            assert_int_equal(pts, (uint64_t)i * 3000 + (1ull << 40));
        }
        assert_int_equal(frt_ivf_read_frame(&r, &data, &len, &pts), 0);
        assert_int_equal(r.frames, RT_FRAMES);
        assert_int_equal(frt_ivf_rewind(&r), 0);
    }
    assert_string_equal(frt_ivf_reader_errmsg(&r), "");
    frt_ivf_close(&r);
}

/* Writes a file of the given bytes and expects frt_ivf_open() to fail. */
static void expect_open_error(const void *bytes, size_t n, int err,
                              const char *msg)
{
    frt_ivf_reader r;
    char path[128];

    tmp_path(path, sizeof(path), "bad.ivf");
    write_file(path, bytes, n);
    assert_int_equal(frt_ivf_open(&r, path), err);
    assert_non_null(strstr(frt_ivf_reader_errmsg(&r), msg));
    assert_null(r.f);
    frt_ivf_close(&r);
}

/* Writes header + tail and expects the first frame read to fail. */
static void expect_frame_error(const uint8_t *hdr, const void *tail,
                               size_t n, int err, const char *msg)
{
    frt_ivf_reader r;
    uint8_t buf[128];
    const uint8_t *data;
    size_t len;
    uint64_t pts;
    char path[128];

    memcpy(buf, hdr, 32);
    memcpy(buf + 32, tail, n);
    tmp_path(path, sizeof(path), "bad.ivf");
    write_file(path, buf, 32 + n);
    assert_int_equal(frt_ivf_open(&r, path), 0);
    assert_int_equal(frt_ivf_read_frame(&r, &data, &len, &pts), err);
    assert_non_null(strstr(frt_ivf_reader_errmsg(&r), msg));
    frt_ivf_close(&r);
}

static void test_ivf_bad_files(void **state)
{
    static const uint8_t good[32] = "DKIF\0\0\x20\0VP80\xa0\0\x78\0"
                                    "\x19\0\0\0\x01\0\0\0\0\0\0\0\0\0\0\0";
    uint8_t h[64];
    frt_ivf_reader r;
    const uint8_t *data;
    size_t len;
    uint64_t pts;
    char path[128];

    (void)state;
    tmp_path(path, sizeof(path), "missing.ivf");
    assert_int_equal(frt_ivf_open(&r, path), FRT_ERR_IO);
    assert_int_equal(errno, ENOENT);
    assert_string_equal(frt_ivf_reader_errmsg(&r), strerror(ENOENT));

    expect_open_error("", 0, FRT_ERR_TRUNCATED,
                      "truncated file header: 0 of 32 bytes");
    expect_open_error("RIFF\x24\0\0\0WAVEfmt ", 16, FRT_ERR_FORMAT,
                      "bad magic \"RIFF\" (expected \"DKIF\"): not an IVF");
    expect_open_error("\x7f" "ELF", 4, FRT_ERR_FORMAT, "bad magic \"?ELF\"");
    expect_open_error(good, 20, FRT_ERR_TRUNCATED,
                      "truncated file header: 20 of 32 bytes");
    memcpy(h, good, 32);
    h[4] = 1;
    expect_open_error(h, 32, FRT_ERR_UNSUPPORTED,
                      "unsupported IVF version 1");
    memcpy(h, good, 32);
    h[6] = 16;
    expect_open_error(h, 32, FRT_ERR_FORMAT, "bad header size 16");

    expect_frame_error(good, "\x05\0\0\0\0", 5, FRT_ERR_TRUNCATED,
                       "truncated header of frame 0: 5 of 12 bytes");
    expect_frame_error(good, "\x05\0\0\0\0\0\0\0\0\0\0\0abc", 15,
                       FRT_ERR_TRUNCATED, "truncated frame 0: 3 of 5 bytes");
    expect_frame_error(good, "\xff\xff\xff\xff\0\0\0\0\0\0\0\0abc", 15,
                       FRT_ERR_RANGE, "frame 0 claims 4294967295 bytes");

    /* A longer header is skipped: 40 bytes, then a 2-byte frame. */
    memcpy(h, good, 32);
    h[6] = 40;
    memset(h + 32, 0xee, 8);
    memcpy(h + 40, "\x02\0\0\0\x07\0\0\0\0\0\0\0hi", 14);
    tmp_path(path, sizeof(path), "long.ivf");
    write_file(path, h, 54);
    assert_int_equal(frt_ivf_open(&r, path), 0);
    assert_int_equal(frt_ivf_read_frame(&r, &data, &len, &pts), 1);
    assert_int_equal(len, 2);
    assert_memory_equal(data, "hi", 2);
    assert_int_equal(pts, 7);
    assert_int_equal(frt_ivf_read_frame(&r, &data, &len, &pts), 0);
    assert_int_equal(frt_ivf_rewind(&r), 0);
    assert_int_equal(frt_ivf_read_frame(&r, &data, &len, &pts), 1);
    assert_int_equal(pts, 7);
    frt_ivf_close(&r);

    /* The writer reports an unwritable path. */
    {
        frt_ivf_writer w;
        frt_ivf_header hh = {FRT_FOURCC_VP8, 1, 1, 1, 1, 0};
        tmp_path(path, sizeof(path), "no/such/dir.ivf");
        assert_int_equal(frt_ivf_create(&w, path, &hh), FRT_ERR_IO);
        assert_int_equal(errno, ENOENT);
    }
}

/* ---- Key frames: hand-made bitstreams ----------------------------------- */

/* MSB-first bit writer for hand-made headers. */
static void put_bits(uint8_t *buf, size_t *pos, uint32_t v, unsigned n)
{
    for (unsigned i = n; i-- > 0; (*pos)++) {
        if ((v >> i) & 1)
            buf[*pos / 8] |= (uint8_t)(0x80 >> (*pos % 8));
    }
}

static int key(uint32_t fourcc, const void *frame, size_t len)
{
    return frt_ivf_is_key_frame(fourcc, frame, len);
}

static void test_keyframe_vp8(void **state)
{
    (void)state;
    /* Key frame: tag bit 0 clear, start code 9d 01 2a, dimensions. */
    assert_int_equal(key(FRT_FOURCC_VP8, "\x50\x42\x00\x9d\x01\x2a\xa0\x00"
                                         "\x78\x00",
                         10),
                     1);
    assert_int_equal(key(FRT_FOURCC_VP8, "\x31\x02\x00\x11", 4), 0);
    assert_int_equal(key(FRT_FOURCC_VP8, "\x50\x42\x00\x9d\x01\x2b\xa0\x00"
                                         "\x78\x00",
                         10),
                     FRT_ERR_FORMAT);
    assert_int_equal(key(FRT_FOURCC_VP8, "\x50\x42\x00\x9d\x01\x2a", 6),
                     FRT_ERR_FORMAT);
    assert_int_equal(key(FRT_FOURCC_VP8, "\x50", 1), FRT_ERR_FORMAT);
    assert_int_equal(key(FRT_FOURCC('H', '2', '6', '4'), "\0\0\0\1", 4),
                     FRT_ERR_UNSUPPORTED);
}

/* A VP9 uncompressed header start: marker, profile, show_existing_frame,
 * frame_type, show_frame, error_resilient, sync code for key frames. */
static size_t vp9_header(uint8_t *buf, unsigned profile, int show_existing,
                         int keyframe)
{
    size_t pos = 0;

    memset(buf, 0, 8);
    put_bits(buf, &pos, 2, 2);
    put_bits(buf, &pos, profile & 1, 1);
    put_bits(buf, &pos, profile >> 1, 1);
    if (profile == 3)
        put_bits(buf, &pos, 0, 1);
    put_bits(buf, &pos, (uint32_t)show_existing, 1);
    if (show_existing) {
        put_bits(buf, &pos, 5, 3);
    } else {
        put_bits(buf, &pos, keyframe ? 0 : 1, 1);
        put_bits(buf, &pos, 3, 2);
        if (keyframe)
            put_bits(buf, &pos, 0x498342, 24);
    }
    return 8;
}

static void test_keyframe_vp9(void **state)
{
    uint8_t b[32];

    (void)state;
    for (unsigned p = 0; p < 4; p++) {
        assert_int_equal(key(FRT_FOURCC_VP9, b, vp9_header(b, p, 0, 1)), 1);
        assert_int_equal(key(FRT_FOURCC_VP9, b, vp9_header(b, p, 0, 0)), 0);
        assert_int_equal(key(FRT_FOURCC_VP9, b, vp9_header(b, p, 1, 0)), 0);
    }
    /* Profile 3 with reserved_zero set. */
    vp9_header(b, 3, 0, 1);
    b[0] |= 0x08;
    assert_int_equal(key(FRT_FOURCC_VP9, b, 8), FRT_ERR_FORMAT);
    /* Bad frame marker, bad sync code, too short, empty. */
    vp9_header(b, 0, 0, 1);
    b[0] &= 0x7f;
    assert_int_equal(key(FRT_FOURCC_VP9, b, 8), FRT_ERR_FORMAT);
    vp9_header(b, 0, 0, 1);
    b[2] ^= 1;
    assert_int_equal(key(FRT_FOURCC_VP9, b, 8), FRT_ERR_FORMAT);
    assert_int_equal(key(FRT_FOURCC_VP9, b, 3), FRT_ERR_FORMAT);
    assert_int_equal(key(FRT_FOURCC_VP9, b, 0), FRT_ERR_FORMAT);

    /* Superframe: a hidden inter frame (8 bytes) then a key frame would be
     * invalid, but only the first frame decides: not key. Index: marker
     * 0xc1 (1-byte sizes, 2 frames), sizes 8 and 8, marker. */
    vp9_header(b, 0, 0, 0);
    vp9_header(b + 8, 0, 0, 1);
    memcpy(b + 16, "\xc1\x08\x08\xc1", 4);
    assert_int_equal(key(FRT_FOURCC_VP9, b, 20), 0);
    /* Key frame first. Its header takes 4 bytes: with a first-frame size
     * of 3 in the index the sync code is cut. */
    vp9_header(b, 0, 0, 1);
    vp9_header(b + 8, 0, 0, 0);
    assert_int_equal(key(FRT_FOURCC_VP9, b, 20), 1);
    b[17] = 4;
    assert_int_equal(key(FRT_FOURCC_VP9, b, 20), 1);
    b[17] = 3;
    assert_int_equal(key(FRT_FOURCC_VP9, b, 20), FRT_ERR_FORMAT);
    /* A first-frame size beyond the data, or zero. */
    b[17] = 200;
    assert_int_equal(key(FRT_FOURCC_VP9, b, 20), FRT_ERR_FORMAT);
    b[17] = 0;
    assert_int_equal(key(FRT_FOURCC_VP9, b, 20), FRT_ERR_FORMAT);
    /* A trailing byte that looks like a marker without a matching one at the
     * index start is frame data. */
    vp9_header(b, 0, 0, 1);
    b[7] = 0xc1;
    assert_int_equal(key(FRT_FOURCC_VP9, b, 8), 1);
}

static void test_keyframe_av1(void **state)
{
    /* OBU headers: type << 3 | has_size_field (0x02). */
    static const uint8_t td_seq_key[] = {
        0x12, 0x00,                   /* temporal delimiter */
        0x0a, 0x03, 0x00, 0x00, 0x00, /* sequence header */
        0x32, 0x02, 0x10, 0x00,       /* frame: key */
    };
    static const uint8_t td_key[] = {
        0x12, 0x00, 0x32, 0x02, 0x10, 0x00,
    };
    static const uint8_t td_inter[] = {
        0x12, 0x00, 0x32, 0x02, 0x30, 0x00,
    };
    static const uint8_t hdr_key_ext[] = {
        0x12, 0x00, 0x7a, 0x01, 0x00, /* padding (type 15), 1 byte */
        0x1e, 0x08, 0x01, 0x10,       /* frame header, extension byte */
    };
    static const uint8_t show_existing[] = {
        0x12, 0x00, 0x1a, 0x01, 0x80,
    };
    static const uint8_t unsized_last[] = {
        0x12, 0x00, 0x30, 0x00, 0x55, /* frame without size field: key */
    };
    static const uint8_t leb_multi[] = {
        0x12, 0x00, 0x7a, 0x81, 0x00, 0xaa, /* padding, size 1 in 2 bytes */
        0x32, 0x01, 0x20,
    };
    static const uint8_t td_only[] = {0x12, 0x00};
    static const uint8_t forbidden[] = {0x92, 0x00};
    static const uint8_t too_long[] = {0x12, 0x00, 0x32, 0x05, 0x10};
    static const uint8_t leb_open[] = {0x12, 0x00, 0x32, 0x80, 0x80};
    static const uint8_t leb_big[] = {0x12, 0x00, 0x32, 0x80, 0x80, 0x80,
                                      0x80, 0x10};
    static const uint8_t empty_frame[] = {0x12, 0x00, 0x32, 0x00};
    static const uint8_t ext_cut[] = {0x16};

    (void)state;
    assert_int_equal(key(FRT_FOURCC_AV1, td_seq_key, sizeof(td_seq_key)), 1);
    assert_int_equal(key(FRT_FOURCC_AV1, td_key, sizeof(td_key)), 1);
    assert_int_equal(key(FRT_FOURCC_AV1, td_inter, sizeof(td_inter)), 0);
    assert_int_equal(key(FRT_FOURCC_AV1, hdr_key_ext, sizeof(hdr_key_ext)),
                     1);
    assert_int_equal(key(FRT_FOURCC_AV1, show_existing,
                         sizeof(show_existing)),
                     0);
    assert_int_equal(key(FRT_FOURCC_AV1, unsized_last, sizeof(unsized_last)),
                     1);
    assert_int_equal(key(FRT_FOURCC_AV1, leb_multi, sizeof(leb_multi)), 0);
    assert_int_equal(key(FRT_FOURCC_AV1, td_only, sizeof(td_only)), 0);
    assert_int_equal(key(FRT_FOURCC_AV1, td_only, 0), 0);
    assert_int_equal(key(FRT_FOURCC_AV1, forbidden, sizeof(forbidden)),
                     FRT_ERR_FORMAT);
    assert_int_equal(key(FRT_FOURCC_AV1, too_long, sizeof(too_long)),
                     FRT_ERR_FORMAT);
    assert_int_equal(key(FRT_FOURCC_AV1, leb_open, sizeof(leb_open)),
                     FRT_ERR_FORMAT);
    assert_int_equal(key(FRT_FOURCC_AV1, leb_big, sizeof(leb_big)),
                     FRT_ERR_FORMAT);
    assert_int_equal(key(FRT_FOURCC_AV1, empty_frame, sizeof(empty_frame)),
                     FRT_ERR_FORMAT);
    assert_int_equal(key(FRT_FOURCC_AV1, ext_cut, sizeof(ext_cut)),
                     FRT_ERR_FORMAT);
}

/* ---- Key frames: real streams from ffmpeg, checked against ffprobe ------ */

static int have_ffmpeg(void)
{
    return system("ffmpeg -hide_banner -version >/dev/null 2>&1") == 0 &&
           system("ffprobe -hide_banner -version >/dev/null 2>&1") == 0;
}

static int have_encoder(const char *name)
{
    char cmd[256];

    /* Lines look like " V....D libvpx-vp9   libvpx VP9 (codec vp9)". */
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -hide_banner -encoders 2>/dev/null | "
             "grep -qE '^ [A-Z.]{6} %s '",
             name);
    return system(cmd) == 0;
}

/* Copies a file (an ffmpeg log) to stderr. */
static void print_file(const char *path)
{
    char line[256];
    FILE *f = fopen(path, "r");

    if (!f)
        return;
    while (fgets(line, sizeof(line), f))
        fputs(line, stderr);
    fclose(f);
}

#define MAX_PROBED 1024

typedef struct probed {
    uint64_t pts[MAX_PROBED];
    int key[MAX_PROBED];
    int n;
} probed;

/* Runs ffprobe on path: the pts and key_frame flag of every decoded frame. */
static void probe_frames(const char *path, probed *p)
{
    char cmd[512], line[256];
    FILE *f;

    snprintf(cmd, sizeof(cmd),
             "ffprobe -v error -select_streams v -show_frames "
             "-show_entries frame=key_frame,pts -of compact=p=0 '%s'",
             path);
    f = popen(cmd, "r");
    assert_non_null(f);
    p->n = 0;
    while (fgets(line, sizeof(line), f)) {
        const char *k = strstr(line, "key_frame="), *t = strstr(line, "pts=");
        assert_non_null(k);
        assert_non_null(t);
        assert_true(p->n < MAX_PROBED);
        p->key[p->n] = atoi(k + 10);
        p->pts[p->n] = strtoull(t + 4, NULL, 10);
        p->n++;
    }
    assert_int_equal(pclose(f), 0);
}

/* Runs an ffmpeg command line (after "ffmpeg -hide_banner -nostdin
 * -loglevel error"), failing the test with ffmpeg's output if it fails. */
static void run_ffmpeg(const char *args)
{
    char cmd[1024], log[128];

    tmp_path(log, sizeof(log), "ffmpeg.log");
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -hide_banner -nostdin -loglevel error %s >'%s' 2>&1",
             args, log);
    if (system(cmd) != 0) {
        print_file(log);
        fail_msg("ffmpeg failed: %s", cmd);
    }
}

/*
 * Encodes 3 s of testsrc with the encoder (key frame interval 10, two passes
 * if asked: libvpx then makes hidden alternate reference frames) into an
 * IVF file, then checks that frt_ivf_is_key_frame() flags exactly the frames
 * ffprobe decodes as key frames. Frames are matched by pts, unique in these
 * files; frames ffprobe does not output (hidden frames a decoder only keeps
 * as references) must not be key frames.
 */
static void check_encoder(const char *encoder, const char *args,
                          int two_pass, uint32_t fourcc, const char *name)
{
    char path[128], passlog[128], cmd[768];
    const char *input = "-f lavfi -i testsrc=size=160x120:rate=25 -t 3";
    frt_ivf_reader r;
    probed p;
    const uint8_t *data;
    size_t len;
    uint64_t pts, last_pts = 0;
    int rc, keys = 0, probed_keys = 0, matched = 0, n = 0, superframes = 0;

    tmp_path(path, sizeof(path), name);
    tmp_path(passlog, sizeof(passlog), "pass");
    if (two_pass) {
        snprintf(cmd, sizeof(cmd),
                 "%s -c:v %s -g 10 %s -pass 1 -passlogfile '%s' -f null -",
                 input, encoder, args, passlog);
        run_ffmpeg(cmd);
        snprintf(cmd, sizeof(cmd),
                 "%s -c:v %s -g 10 %s -pass 2 -passlogfile '%s' -y '%s'",
                 input, encoder, args, passlog, path);
    } else {
        snprintf(cmd, sizeof(cmd), "%s -c:v %s -g 10 %s -y '%s'", input,
                 encoder, args, path);
    }
    run_ffmpeg(cmd);
    probe_frames(path, &p);
    assert_int_equal(p.n, 75);

    assert_int_equal(frt_ivf_open(&r, path), 0);
    assert_int_equal(r.hdr.fourcc, fourcc);
    assert_int_equal(r.hdr.width, 160);
    assert_int_equal(r.hdr.height, 120);
    while ((rc = frt_ivf_read_frame(&r, &data, &len, &pts)) == 1) {
        int is_key = frt_ivf_is_key_frame(fourcc, data, len), found = -1;

        if (is_key < 0)
            fail_msg("%s: frame %d (pts %llu): %s", encoder, n,
                     (unsigned long long)pts, frt_strerror(is_key));
        if (n > 0)
            assert_true(pts > last_pts);
        last_pts = pts;
        for (int i = 0; i < p.n; i++)
            if (p.pts[i] == pts)
                found = i;
        if (found >= 0) {
            if (is_key != p.key[found])
                fail_msg("%s: frame %d (pts %llu): detected %s, ffprobe "
                         "says %s",
                         encoder, n, (unsigned long long)pts,
                         is_key ? "key" : "not key",
                         p.key[found] ? "key" : "not key");
            matched++;
        } else {
            assert_int_equal(is_key, 0);
        }
        if (n == 0)
            assert_int_equal(is_key, 1);
        if (fourcc == FRT_FOURCC_VP9 && (data[len - 1] & 0xe0) == 0xc0)
            superframes++;
        keys += is_key;
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(r.hdr.frame_count, n);
    frt_ivf_close(&r);
    for (int i = 0; i < p.n; i++)
        probed_keys += p.key[i];
    assert_int_equal(matched, p.n);
    assert_int_equal(keys, probed_keys);
    assert_true(keys >= 3);
    fprintf(stderr,
            "  %s%s%s%s: %d IVF frames (%d not output, %d superframes), "
            "%d key frames, as ffprobe says\n",
            encoder, *args ? " " : "", args, two_pass ? " 2-pass" : "", n,
            n - p.n, superframes, keys);
}

#define REQUIRE_FFMPEG()                                                    \
    do {                                                                    \
        if (!have_ffmpeg())                                                 \
            FR_TEST_SKIP("ffmpeg/ffprobe not installed");                   \
    } while (0)

static void test_keyframe_ffmpeg_vp8(void **state)
{
    (void)state;
    REQUIRE_FFMPEG();
    if (!have_encoder("libvpx"))
        FR_TEST_SKIP("ffmpeg has no libvpx (VP8) encoder");
    check_encoder("libvpx", "", 0, FRT_FOURCC_VP8, "vp8.ivf");
    /* Hidden alternate reference frames, in packets of their own. */
    check_encoder("libvpx", "-b:v 200k -auto-alt-ref 1", 1, FRT_FOURCC_VP8,
                  "vp8-arf.ivf");
}

static void test_keyframe_ffmpeg_vp9(void **state)
{
    static const char *const pix_fmts[] = {"yuv420p", "yuv444p",
                                           "yuv420p10le", "yuv444p10le"};
    char args[64], name[32];

    (void)state;
    REQUIRE_FFMPEG();
    if (!have_encoder("libvpx-vp9"))
        FR_TEST_SKIP("ffmpeg has no libvpx-vp9 encoder");
    /* Profiles 0 to 3. */
    for (int i = 0; i < 4; i++) {
        snprintf(args, sizeof(args), "-pix_fmt %s", pix_fmts[i]);
        snprintf(name, sizeof(name), "vp9-%d.ivf", i);
        check_encoder("libvpx-vp9", args, 0, FRT_FOURCC_VP9, name);
    }
    /* Hidden alternate reference frames, in superframes. */
    check_encoder("libvpx-vp9", "-b:v 200k -auto-alt-ref 1", 1,
                  FRT_FOURCC_VP9, "vp9-arf.ivf");
}

static void test_keyframe_ffmpeg_av1(void **state)
{
    static const struct {
        const char *encoder, *args;
    } encoders[] = {
        {"libaom-av1", "-cpu-used 8"},
        {"libsvtav1", "-preset 12"},
        {"librav1e", "-speed 10"},
    };
    int tested = 0;

    (void)state;
    REQUIRE_FFMPEG();
    for (size_t i = 0; i < sizeof(encoders) / sizeof(encoders[0]); i++) {
        if (!have_encoder(encoders[i].encoder)) {
            fprintf(stderr, "  %s: encoder not available\n",
                    encoders[i].encoder);
            continue;
        }
        check_encoder(encoders[i].encoder, encoders[i].args, 0,
                      FRT_FOURCC_AV1, "av1.ivf");
        tested++;
    }
    if (!tested)
        FR_TEST_SKIP("ffmpeg has no AV1 encoder (libaom, SVT-AV1, rav1e)");
}

/* ---- Object payloads ---------------------------------------------------- */

static void test_crc32c(void **state)
{
    uint8_t buf[1000];
    uint32_t whole;

    (void)state;
    assert_int_equal(frt_crc32c(0, "123456789", 9), 0xE3069283);
    assert_int_equal(frt_crc32c(0, "", 0), 0);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 11 + 5);
    whole = frt_crc32c(0, buf, sizeof(buf));
    for (size_t cut = 0; cut <= 17; cut++)
        assert_int_equal(frt_crc32c(frt_crc32c(0, buf, cut), buf + cut,
                                    sizeof(buf) - cut),
                         whole);
}

static void test_media_fill_check(void **state)
{
    static const size_t sizes[] = {40, 41, 47, 48, 49, 100, 1500, 65536};
    frt_obj_meta m = {.seq = 0x0102030405060708ull,
                      .send_ts_ns = 123456789012345ull,
                      .group_id = 77,
                      .object_id = 5,
                      .flags = FRT_MEDIA_KEY};
    frt_obj_meta out;
    uint8_t *buf = malloc(65536), *other = malloc(65536);

    (void)state;
    assert_non_null(buf);
    assert_non_null(other);
    assert_int_equal(frt_media_fill(buf, 39, &m), FRT_ERR_RANGE);

    /* The header layout. */
    assert_int_equal(frt_media_fill(buf, 48, &m), 0);
    assert_memory_equal(buf,
                        "FM\x01\x01"
                        "\x08\x07\x06\x05\x04\x03\x02\x01"
                        "\x79\xdf\x0d\x86\x48\x70\0\0"
                        "\x4d\0\0\0\0\0\0\0"
                        "\x05\0\0\0"
                        "\x30\0\0\0",
                        36);

    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t len = sizes[s];
        size_t step = len > 2000 ? 97 : 1;

        m.seq = s;
        assert_int_equal(frt_media_fill(buf, len, &m), 0);
        memset(&out, 0xaa, sizeof(out));
        assert_int_equal(frt_media_check(buf, len, &out), 0);
        assert_int_equal(out.seq, s);
        assert_int_equal(out.send_ts_ns, m.send_ts_ns);
        assert_int_equal(out.group_id, 77);
        assert_int_equal(out.object_id, 5);
        assert_int_equal(out.len, len);
        assert_int_equal(out.flags, FRT_MEDIA_KEY);
        assert_int_equal(frt_media_check(buf, len, NULL), 0);

        /* Any single changed byte is detected, whichever bits change. */
        for (size_t i = 0; i < len; i += step) {
            for (int x = 1; x < 256; x += 37) {
                buf[i] ^= (uint8_t)x;
                assert_true(frt_media_check(buf, len, NULL) < 0);
                buf[i] ^= (uint8_t)x;
            }
        }
        assert_int_equal(frt_media_check(buf, len, NULL), 0);
        assert_int_equal(frt_media_check(buf, len - 1, NULL),
                         len > 40 ? FRT_ERR_LENGTH : FRT_ERR_TRUNCATED);

        /* The filler depends on the sequence number. */
        if (len > 48) {
            frt_obj_meta m2 = m;
            m2.seq++;
            assert_int_equal(frt_media_fill(other, len, &m2), 0);
            assert_memory_not_equal(buf + 40, other + 40, len - 40);
            /* A body moved under another header fails. */
            memcpy(other + 40, buf + 40, len - 40);
            assert_int_equal(frt_media_check(other, len, NULL),
                             FRT_ERR_CHECKSUM);
        }
    }

    /* Deterministic: the same meta gives the same bytes. */
    assert_int_equal(frt_media_fill(buf, 1000, &m), 0);
    assert_int_equal(frt_media_fill(other, 1000, &m), 0);
    assert_memory_equal(buf, other, 1000);

    /* Specific errors. */
    assert_int_equal(frt_media_check(buf, 1, NULL), FRT_ERR_TRUNCATED);
    assert_int_equal(frt_media_check(buf, 39, NULL), FRT_ERR_TRUNCATED);
    assert_int_equal(frt_media_check(buf, 1001, NULL), FRT_ERR_LENGTH);
    buf[0] = 'X';
    assert_int_equal(frt_media_check(buf, 1000, NULL), FRT_ERR_FORMAT);
    assert_int_equal(frt_media_check(buf, 1, NULL), FRT_ERR_TRUNCATED);
    assert_int_equal(frt_media_check(buf, 2, NULL), FRT_ERR_FORMAT);
    buf[0] = 'F';
    buf[2] = 2;
    assert_int_equal(frt_media_check(buf, 1000, NULL), FRT_ERR_UNSUPPORTED);
    buf[2] = 1;
    buf[3] = 0x80;
    assert_int_equal(frt_media_check(buf, 1000, NULL), FRT_ERR_FORMAT);
    buf[3] = FRT_MEDIA_KEY;
    buf[999] ^= 0x40;
    assert_int_equal(frt_media_check(buf, 1000, NULL), FRT_ERR_CHECKSUM);

    assert_true(frt_media_now_ns() > 0);
    assert_true(frt_media_now_ns() <= frt_media_now_ns());
    free(buf);
    free(other);
}

static void test_media_wrap(void **state)
{
    frt_obj_meta m = {.seq = 9, .send_ts_ns = 5, .group_id = 3,
                      .object_id = 0};
    frt_obj_meta out;
    uint8_t frame[300], buf[400];
    const uint8_t *view;
    size_t vlen;

    (void)state;
    for (size_t i = 0; i < sizeof(frame); i++)
        frame[i] = (uint8_t)(i ^ 0x5a);
    assert_int_equal(frt_media_wrap(buf, 339, &m, frame, 300),
                     FRT_ERR_RANGE);
    assert_int_equal(frt_media_wrap(buf, sizeof(buf), &m, frame, 300), 0);
    assert_int_equal(frt_media_check(buf, 340, &out), 0);
    assert_int_equal(out.flags, FRT_MEDIA_FRAME);
    assert_int_equal(frt_media_unwrap(buf, 340, &out, &view, &vlen), 0);
    assert_ptr_equal(view, buf + FRT_MEDIA_HDR_LEN);
    assert_int_equal(vlen, 300);
    assert_memory_equal(view, frame, 300);
    assert_int_equal(out.seq, 9);
    assert_int_equal(out.send_ts_ns, 5);
    assert_int_equal(out.group_id, 3);
    assert_int_equal(out.object_id, 0);
    assert_int_equal(out.len, 340);

    /* The checksum covers the frame. */
    buf[200] ^= 1;
    assert_int_equal(frt_media_unwrap(buf, 340, &out, &view, &vlen),
                     FRT_ERR_CHECKSUM);
    buf[200] ^= 1;
    assert_int_equal(frt_media_unwrap(buf, 339, NULL, &view, &vlen),
                     FRT_ERR_LENGTH);

    /* Key flag and an empty frame. */
    m.flags = FRT_MEDIA_KEY | FRT_MEDIA_FRAME;
    assert_int_equal(frt_media_wrap(buf, 40, &m, NULL, 0), 0);
    assert_int_equal(frt_media_unwrap(buf, 40, &out, &view, &vlen), 0);
    assert_int_equal(vlen, 0);
    assert_int_equal(out.flags, FRT_MEDIA_KEY | FRT_MEDIA_FRAME);

    /* A synthetic payload is not a wrapped frame, and fill never marks one. */
    assert_int_equal(frt_media_fill(buf, 100, &m), 0);
    assert_int_equal(frt_media_check(buf, 100, &out), 0);
    assert_int_equal(out.flags, FRT_MEDIA_KEY);
    assert_int_equal(frt_media_unwrap(buf, 100, &out, &view, &vlen),
                     FRT_ERR_FORMAT);
}

/* ---- Synthetic source --------------------------------------------------- */

static void check_synth(uint32_t fps, uint32_t gop, uint64_t bitrate)
{
    frt_synth s, s2;
    frt_synth_frame f, f2;
    uint64_t total = 0, frames = 6ull * gop;
    uint32_t key_size = 0, delta_min = UINT32_MAX, delta_max = 0;
    double rate;

    assert_int_equal(frt_synth_init(&s, fps, gop, bitrate), 0);
    assert_int_equal(frt_synth_init(&s2, fps, gop, bitrate), 0);
    memset(&f, 0, sizeof(f)); /* padding, for the memory compare */
    memset(&f2, 0, sizeof(f2));
    for (uint64_t i = 0; i < frames; i++) {
        frt_synth_next(&s, &f);
        frt_synth_next(&s2, &f2);
        assert_memory_equal(&f, &f2, sizeof(f));
        assert_int_equal(f.seq, i);
        assert_int_equal(f.group_id, i / gop);
        assert_int_equal(f.object_id, i % gop);
        assert_int_equal(f.key, f.object_id == 0);
        assert_int_equal(f.priority, f.key ? FRT_SYNTH_PRIO_KEY
                                           : FRT_SYNTH_PRIO_DELTA);
        assert_int_equal(f.pts_ns, i * 1000000000ull / fps);
        assert_true(f.size >= FRT_SYNTH_MIN_SIZE);
        if (f.key) {
            key_size = f.size;
        } else {
            if (f.size < delta_min)
                delta_min = f.size;
            if (f.size > delta_max)
                delta_max = f.size;
        }
        total += f.size;
    }
    rate = (double)total * 8 * fps / (double)frames;
    assert_true(rate >= 0.95 * (double)bitrate &&
                rate <= 1.05 * (double)bitrate);
    if (gop > 1) {
        assert_true(delta_max - delta_min <= 1);
        assert_true(key_size >= 5 * delta_min - 5 &&
                    key_size <= 5 * delta_max + 5);
    }
}

static void test_synth(void **state)
{
    frt_synth s;
    frt_synth_frame f;

    (void)state;
    check_synth(30, 30, 2000000);
    check_synth(25, 10, 500000);
    check_synth(60, 120, 10000000);
    check_synth(30, 1, 1000000);
    check_synth(24, 7, 333333);
    check_synth(1000, 1000, 1000000000);

    /* Tiny rates: the size floor wins. */
    assert_int_equal(frt_synth_init(&s, 30, 30, 1000), 0);
    for (int i = 0; i < 60; i++) {
        frt_synth_next(&s, &f);
        assert_int_equal(f.size, FRT_SYNTH_MIN_SIZE);
    }

    assert_int_equal(frt_synth_init(&s, 0, 30, 1000), FRT_ERR_RANGE);
    assert_int_equal(frt_synth_init(&s, 1001, 30, 1000), FRT_ERR_RANGE);
    assert_int_equal(frt_synth_init(&s, 30, 0, 1000), FRT_ERR_RANGE);
    assert_int_equal(frt_synth_init(&s, 30, 100001, 1000), FRT_ERR_RANGE);
    assert_int_equal(frt_synth_init(&s, 30, 30, 0), FRT_ERR_RANGE);
    /* A key frame beyond 4 GiB, and a numerator beyond 64 bits. */
    assert_int_equal(frt_synth_init(&s, 1, 1, 40000000000ull), FRT_ERR_RANGE);
    assert_int_equal(frt_synth_init(&s, 1, 100000, UINT64_MAX / 4),
                     FRT_ERR_RANGE);
    assert_int_equal(frt_synth_init(&s, 1, 1, 34000000000ull), 0);
}

/* ---- Statistics --------------------------------------------------------- */

static void test_stats(void **state)
{
    frt_stats s;
    frt_stats_summary sum;

    (void)state;
    frt_stats_init(&s, 0);
    frt_stats_summarize(&s, &sum);
    assert_int_equal(sum.count, 0);
    assert_int_equal(sum.p99, 0);
    assert_int_equal(frt_stats_percentile(&s, 50), 0);

    /* 1..100 added in a scrambled order. */
    for (int i = 0; i < 100; i++)
        assert_int_equal(frt_stats_add(&s, (uint64_t)(i * 37 % 100 + 1)), 0);
    frt_stats_summarize(&s, &sum);
    assert_int_equal(sum.count, 100);
    assert_int_equal(sum.min, 1);
    assert_int_equal(sum.max, 100);
    assert_true(sum.mean == 50.5);
    assert_int_equal(sum.p50, 50);
    assert_int_equal(sum.p90, 90);
    assert_int_equal(sum.p99, 99);
    assert_int_equal(frt_stats_percentile(&s, 0), 1);
    assert_int_equal(frt_stats_percentile(&s, 100), 100);
    assert_int_equal(frt_stats_percentile(&s, 99.5), 100);
    assert_int_equal(frt_stats_percentile(&s, 0.5), 1);
    assert_int_equal(frt_stats_percentile(&s, 1), 1);
    assert_int_equal(frt_stats_percentile(&s, 1.01), 2);
    /* Adding after a percentile query re-sorts. */
    assert_int_equal(frt_stats_add(&s, 0), 0);
    assert_int_equal(frt_stats_percentile(&s, 0.5), 0);
    assert_int_equal(frt_stats_percentile(&s, 50), 50);
    frt_stats_free(&s);

    /* Few samples: nearest rank. */
    frt_stats_init(&s, 0);
    assert_int_equal(frt_stats_add(&s, 300), 0);
    assert_int_equal(frt_stats_add(&s, 100), 0);
    assert_int_equal(frt_stats_add(&s, 200), 0);
    frt_stats_summarize(&s, &sum);
    assert_int_equal(sum.p50, 200);
    assert_int_equal(sum.p90, 300);
    assert_true(sum.mean == 200.0);
    frt_stats_free(&s);

    /* Beyond the bound: exact count, min, max and mean; percentiles from a
     * uniform sample. */
    frt_stats_init(&s, 2000);
    for (uint64_t i = 0; i < 200000; i++)
        assert_int_equal(frt_stats_add(&s, i * 7919 % 200000), 0);
    assert_int_equal(s.n, 2000);
    frt_stats_summarize(&s, &sum);
    assert_int_equal(sum.count, 200000);
    assert_int_equal(sum.min, 0);
    assert_int_equal(sum.max, 199999);
    assert_true(sum.mean == 99999.5);
    assert_true(sum.p50 > 90000 && sum.p50 < 110000);
    assert_true(sum.p90 > 170000 && sum.p90 < 190000);
    assert_true(sum.p99 > 190000);
    frt_stats_free(&s);
}

/* ---- JSON --------------------------------------------------------------- */

static void expect_json(frt_json *j, const char *want)
{
    assert_int_equal(frt_json_finish(j), 0);
    assert_string_equal(frt_json_buf(j, NULL), want);
    frt_json_free(j);
}

static void test_json(void **state)
{
    frt_json j;
    size_t len;
    char path[128], got[256];
    FILE *f;

    (void)state;
    frt_json_init_buf(&j, 0);
    frt_json_obj_begin(&j);
    frt_json_kv_str(&j, "name", "fr-sub");
    frt_json_kv_u64(&j, "objects", UINT64_MAX);
    frt_json_kv_i64(&j, "delta", INT64_MIN);
    frt_json_kv_bool(&j, "ok", 1);
    frt_json_kv_bool(&j, "lost", 0);
    frt_json_kv_str(&j, "none", NULL);
    frt_json_key(&j, "delay_us");
    frt_json_obj_begin(&j);
    frt_json_kv_u64(&j, "p50", 830);
    frt_json_kv_double(&j, "mean", 901.25);
    frt_json_obj_end(&j);
    frt_json_key(&j, "list");
    frt_json_arr_begin(&j);
    frt_json_u64(&j, 1);
    frt_json_arr_begin(&j);
    frt_json_arr_end(&j);
    frt_json_obj_begin(&j);
    frt_json_obj_end(&j);
    frt_json_null(&j);
    frt_json_arr_end(&j);
    frt_json_obj_end(&j);
    expect_json(&j, "{\"name\":\"fr-sub\",\"objects\":18446744073709551615,"
                    "\"delta\":-9223372036854775808,\"ok\":true,"
                    "\"lost\":false,\"none\":null,"
                    "\"delay_us\":{\"p50\":830,\"mean\":901.25},"
                    "\"list\":[1,[],{},null]}\n");

    /* Escapes, UTF-8 kept, invalid bytes replaced, keys escaped too. */
    frt_json_init_buf(&j, 0);
    frt_json_obj_begin(&j);
    frt_json_kv_str(&j, "k\"\n", "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f");
    frt_json_kv_str(&j, "utf8", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    frt_json_kv_str(&j, "bad", "a\xff" "b\xc0\xaf" "c\xed\xa0\x80"
                               "d\xf4\x90\x80\x80" "e\xe2\x82");
    frt_json_key(&j, "nul");
    frt_json_strn(&j, "a\0b", 3);
    frt_json_obj_end(&j);
    expect_json(&j, "{\"k\\\"\\n\":\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001"
                    "\\u001f\x7f\","
                    "\"utf8\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\","
                    "\"bad\":\"a\\ufffdb\\ufffd\\ufffdc\\ufffd\\ufffd"
                    "\\ufffdd\\ufffd\\ufffd\\ufffd\\ufffde\\ufffd"
                    "\\ufffd\","
                    "\"nul\":\"a\\u0000b\"}\n");

    /* Numbers. */
    frt_json_init_buf(&j, 0);
    frt_json_arr_begin(&j);
    frt_json_double(&j, 0.1);
    frt_json_double(&j, 100);
    frt_json_double(&j, 1.0 / 3);
    frt_json_double(&j, -2.5e-7);
    frt_json_double(&j, 1e300);
    frt_json_double(&j, NAN);
    frt_json_double(&j, -INFINITY);
    frt_json_i64(&j, 0);
    frt_json_i64(&j, -1);
    frt_json_arr_end(&j);
    expect_json(&j, "[0.1,100,0.3333333333333333,-2.5e-07,1e+300,null,"
                    "null,0,-1]\n");

    /* Top-level scalars. */
    frt_json_init_buf(&j, 0);
    frt_json_str(&j, "x");
    expect_json(&j, "\"x\"\n");

    /* Pretty. */
    frt_json_init_buf(&j, FRT_JSON_PRETTY);
    frt_json_obj_begin(&j);
    frt_json_kv_u64(&j, "a", 1);
    frt_json_key(&j, "b");
    frt_json_arr_begin(&j);
    frt_json_u64(&j, 2);
    frt_json_obj_begin(&j);
    frt_json_kv_bool(&j, "c", 1);
    frt_json_obj_end(&j);
    frt_json_arr_end(&j);
    frt_json_key(&j, "e");
    frt_json_obj_begin(&j);
    frt_json_obj_end(&j);
    frt_json_obj_end(&j);
    expect_json(&j, "{\n"
                    "  \"a\": 1,\n"
                    "  \"b\": [\n"
                    "    2,\n"
                    "    {\n"
                    "      \"c\": true\n"
                    "    }\n"
                    "  ],\n"
                    "  \"e\": {}\n"
                    "}\n");

    /* Misuse is reported by finish; the output stops at the error. */
    frt_json_init_buf(&j, 0);
    frt_json_obj_begin(&j);
    frt_json_u64(&j, 1); /* no key */
    frt_json_kv_u64(&j, "a", 1);
    assert_int_equal(frt_json_finish(&j), FRT_ERR_INVALID);
    assert_string_equal(frt_json_buf(&j, &len), "{");
    assert_int_equal(len, 1);
    frt_json_free(&j);

    frt_json_init_buf(&j, 0);
    frt_json_arr_begin(&j);
    frt_json_key(&j, "a"); /* key in an array */
    assert_int_equal(frt_json_finish(&j), FRT_ERR_INVALID);
    frt_json_free(&j);

    frt_json_init_buf(&j, 0);
    frt_json_arr_begin(&j);
    frt_json_obj_end(&j); /* mismatched end */
    assert_int_equal(frt_json_finish(&j), FRT_ERR_INVALID);
    frt_json_free(&j);

    frt_json_init_buf(&j, 0);
    frt_json_obj_begin(&j);
    frt_json_key(&j, "a");
    frt_json_obj_end(&j); /* key without value */
    assert_int_equal(frt_json_finish(&j), FRT_ERR_INVALID);
    frt_json_free(&j);

    frt_json_init_buf(&j, 0);
    frt_json_u64(&j, 1);
    frt_json_u64(&j, 2); /* second top-level value */
    assert_int_equal(frt_json_finish(&j), FRT_ERR_INVALID);
    assert_string_equal(frt_json_buf(&j, NULL), "1");
    frt_json_free(&j);

    frt_json_init_buf(&j, 0);
    frt_json_arr_begin(&j); /* unfinished */
    assert_int_equal(frt_json_finish(&j), FRT_ERR_INVALID);
    frt_json_free(&j);

    frt_json_init_buf(&j, 0);
    for (int i = 0; i <= FRT_JSON_MAX_DEPTH; i++)
        frt_json_arr_begin(&j);
    assert_int_equal(frt_json_finish(&j), FRT_ERR_INVALID);
    assert_int_equal(strlen(frt_json_buf(&j, NULL)), FRT_JSON_MAX_DEPTH);
    frt_json_free(&j);

    frt_json_init_buf(&j, 0);
    assert_string_equal(frt_json_buf(&j, &len), "");
    assert_int_equal(len, 0);
    assert_int_equal(frt_json_finish(&j), FRT_ERR_INVALID);
    frt_json_free(&j);

    /* A long document grows the buffer. */
    frt_json_init_buf(&j, 0);
    frt_json_arr_begin(&j);
    for (int i = 0; i < 10000; i++)
        frt_json_u64(&j, 1000000000);
    frt_json_arr_end(&j);
    assert_int_equal(frt_json_finish(&j), 0);
    frt_json_buf(&j, &len);
    assert_int_equal(len, 2 + 10000 * 10 + 9999 + 1);
    frt_json_free(&j);

    /* File mode. */
    tmp_path(path, sizeof(path), "out.json");
    f = fopen(path, "w+");
    assert_non_null(f);
    frt_json_init_file(&j, f, 0);
    frt_json_obj_begin(&j);
    frt_json_kv_str(&j, "a", "b");
    frt_json_obj_end(&j);
    assert_int_equal(frt_json_finish(&j), 0);
    frt_json_init_file(&j, f, 0);
    frt_json_u64(&j, 7);
    assert_int_equal(frt_json_finish(&j), 0);
    rewind(f);
    len = fread(got, 1, sizeof(got) - 1, f);
    got[len] = '\0';
    assert_string_equal(got, "{\"a\":\"b\"}\n7\n");
    fclose(f);
}

/* ---- Command line ------------------------------------------------------- */

static void test_cli(void **state)
{
    static const struct {
        const char *arg;
        uint64_t bps;
    } rates[] = {
        {"500k", 500000},  {"500K", 500000},       {"2M", 2000000},
        {"1.5M", 1500000}, {"64000", 64000},       {"0.5k", 500},
        {"1G", 1000000000}, {"18446744073709551615", UINT64_MAX},
        {"2.000000000000000000000M", 2000000},
    };
    static const struct {
        const char *arg;
        uint64_t ns;
    } durations[] = {
        {"15s", 15000000000ull}, {"500ms", 500000000}, {"10", 10000000000ull},
        {"0.25", 250000000},     {"250us", 250000},    {"7ns", 7},
        {"2m", 120000000000ull}, {"1h", 3600000000000ull},
        {"1.5ms", 1500000},
    };
    static const struct {
        const char *arg;
        int rc;
        const char *msg;
    } bad_rates[] = {
        {"2X", FRT_ERR_INVALID,
         "--bitrate: invalid bit rate \"2X\": expected bit/s with an "
         "optional k, M or G suffix, e.g. 500k or 2M"},
        {"", FRT_ERR_INVALID, "--bitrate: missing value"},
        {"-1M", FRT_ERR_INVALID, "--bitrate: invalid bit rate \"-1M\""},
        {" 1M", FRT_ERR_INVALID, "--bitrate: invalid bit rate \" 1M\""},
        {"1M ", FRT_ERR_INVALID, "--bitrate: invalid bit rate \"1M \""},
        {"1.M", FRT_ERR_INVALID, "--bitrate: invalid bit rate \"1.M\""},
        {".5M", FRT_ERR_INVALID, "--bitrate: invalid bit rate \".5M\""},
        {"1m", FRT_ERR_INVALID, "--bitrate: invalid bit rate \"1m\""},
        {"0x10", FRT_ERR_INVALID, "--bitrate: invalid bit rate \"0x10\""},
        {"1.5", FRT_ERR_INVALID,
         "--bitrate: invalid bit rate \"1.5\": not a whole number of bit/s"},
        {"0.0001k", FRT_ERR_INVALID, "not a whole number of bit/s"},
        {"0", FRT_ERR_RANGE,
         "--bitrate: bit rate must be positive, got \"0\""},
        {"0.0M", FRT_ERR_RANGE, "must be positive"},
        {"18446744073709551616", FRT_ERR_RANGE,
         "--bitrate: bit rate \"18446744073709551616\" is too large"},
        {"20000000000G", FRT_ERR_RANGE, "is too large"},
    };
    static const struct {
        const char *arg;
        int rc;
        const char *msg;
    } bad_durations[] = {
        {"abc", FRT_ERR_INVALID,
         "--duration: invalid duration \"abc\": expected a number with an "
         "optional ns, us, ms, s, m or h suffix, e.g. 500ms or 15s "
         "(no suffix: seconds)"},
        {"15sec", FRT_ERR_INVALID, "invalid duration \"15sec\""},
        {"5d", FRT_ERR_INVALID, "invalid duration \"5d\""},
        {"0.5ns", FRT_ERR_INVALID,
         "--duration: invalid duration \"0.5ns\": finer than 1 ns"},
        {"0.0000000001", FRT_ERR_INVALID, "finer than 1 ns"},
        {"0.0000000000000000000001", FRT_ERR_INVALID, "finer than 1 ns"},
        {"0ms", FRT_ERR_RANGE,
         "--duration: duration must be positive, got \"0ms\""},
        {"6000000h", FRT_ERR_RANGE,
         "--duration: duration \"6000000h\" is too long"},
    };
    char err[256];
    uint64_t v;

    (void)state;
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        v = 0;
        assert_int_equal(frt_cli_parse_bitrate("--bitrate", rates[i].arg, &v,
                                               err, sizeof(err)),
                         0);
        assert_int_equal(v, rates[i].bps);
    }
    for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
        v = 0;
        assert_int_equal(frt_cli_parse_duration("--duration",
                                                durations[i].arg, &v, err,
                                                sizeof(err)),
                         0);
        assert_int_equal(v, durations[i].ns);
    }
    for (size_t i = 0; i < sizeof(bad_rates) / sizeof(bad_rates[0]); i++) {
        v = 42;
        err[0] = '\0';
        assert_int_equal(frt_cli_parse_bitrate("--bitrate", bad_rates[i].arg,
                                               &v, err, sizeof(err)),
                         bad_rates[i].rc);
        if (!strstr(err, bad_rates[i].msg))
            fail_msg("\"%s\": got message \"%s\"", bad_rates[i].arg, err);
        assert_int_equal(v, 42);
    }
    for (size_t i = 0; i < sizeof(bad_durations) / sizeof(bad_durations[0]);
         i++) {
        err[0] = '\0';
        assert_int_equal(frt_cli_parse_duration("--duration",
                                                bad_durations[i].arg, &v,
                                                err, sizeof(err)),
                         bad_durations[i].rc);
        if (!strstr(err, bad_durations[i].msg))
            fail_msg("\"%s\": got message \"%s\"", bad_durations[i].arg,
                     err);
    }
    assert_int_equal(frt_cli_parse_duration("--timeout", NULL, &v, err,
                                            sizeof(err)),
                     FRT_ERR_INVALID);
    assert_string_equal(err, "--timeout: missing value");

    /* Integers. */
    assert_int_equal(frt_cli_parse_uint("--gop", "30", 1, 1000, &v, err,
                                        sizeof(err)),
                     0);
    assert_int_equal(v, 30);
    assert_int_equal(frt_cli_parse_uint("--gop", "1000", 1, 1000, &v, NULL,
                                        0),
                     0);
    assert_int_equal(v, 1000);
    assert_int_equal(frt_cli_parse_uint("--gop", "0", 1, 1000, &v, err,
                                        sizeof(err)),
                     FRT_ERR_RANGE);
    assert_string_equal(err, "--gop: 0 is out of range: expected a whole "
                             "number from 1 to 1000");
    assert_int_equal(frt_cli_parse_uint("--gop", "99999999999999999999", 1,
                                        1000, &v, err, sizeof(err)),
                     FRT_ERR_RANGE);
    assert_int_equal(frt_cli_parse_uint("--gop", "5.0", 1, 1000, &v, err,
                                        sizeof(err)),
                     FRT_ERR_INVALID);
    assert_string_equal(err, "--gop: invalid value \"5.0\": expected a whole "
                             "number from 1 to 1000");
    assert_int_equal(frt_cli_parse_uint("--gop", "3k", 1, 1000, &v, err,
                                        sizeof(err)),
                     FRT_ERR_INVALID);
    assert_int_equal(frt_cli_parse_uint("--gop", "", 1, 1000, &v, err,
                                        sizeof(err)),
                     FRT_ERR_INVALID);
    assert_string_equal(err, "--gop: missing value");
    /* A small buffer truncates the message safely; NULL is allowed. */
    assert_int_equal(frt_cli_parse_uint("--gop", "x", 1, 9, &v, err, 6),
                     FRT_ERR_INVALID);
    assert_string_equal(err, "--gop");
    assert_int_equal(frt_cli_parse_bitrate("--bitrate", "x", &v, NULL, 0),
                     FRT_ERR_INVALID);

    /* Version line. */
    {
        char path[128], got[128];
        FILE *f;
        size_t n;

        tmp_path(path, sizeof(path), "version.txt");
        f = fopen(path, "w+");
        assert_non_null(f);
        frt_cli_print_version(f, "fr-origin", "0.1.0");
        rewind(f);
        n = fread(got, 1, sizeof(got) - 1, f);
        got[n] = '\0';
        fclose(f);
        assert_string_equal(got, "fr-origin (libfastrelay) 0.1.0\n");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_ivf_roundtrip),
        cmocka_unit_test(test_ivf_bad_files),
        cmocka_unit_test(test_keyframe_vp8),
        cmocka_unit_test(test_keyframe_vp9),
        cmocka_unit_test(test_keyframe_av1),
        cmocka_unit_test(test_keyframe_ffmpeg_vp8),
        cmocka_unit_test(test_keyframe_ffmpeg_vp9),
        cmocka_unit_test(test_keyframe_ffmpeg_av1),
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_media_fill_check),
        cmocka_unit_test(test_media_wrap),
        cmocka_unit_test(test_synth),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_cli),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
