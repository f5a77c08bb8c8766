/* Parsing of numeric option values and the version line. */
#include <stdarg.h>
#include <string.h>

#include "cli.h"
#include "errors.h"

/* Fraction digits kept exactly; 10^18 fits in 64 bits. Further digits
 * must be zeros. */
#define MAX_FRACTION_DIGITS 18

typedef struct unit {
    const char *suffix;
    uint64_t mult;
} unit;

static const unit bitrate_units[] = {
    {"", 1},          {"k", 1000},          {"K", 1000},
    {"M", 1000000},   {"G", 1000000000},    {NULL, 0},
};

static const unit duration_units[] = {
    {"", 1000000000},    {"ns", 1},
    {"us", 1000},        {"ms", 1000000},
    {"s", 1000000000},   {"m", 60000000000},
    {"h", 3600000000000}, {NULL, 0},
};

typedef enum parse_result {
    PARSE_OK,
    PARSE_SYNTAX,   /* not a number, or an unknown suffix */
    PARSE_FRACTION, /* not a whole number of the base unit */
    PARSE_OVERFLOW, /* above UINT64_MAX */
} parse_result;

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Formats the message into err (if any) and returns rc. */
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Parses "<digits>[.<digits>]<suffix>" with a suffix from units, scaling by
 * its multiplier exactly. */
static parse_result parse_scaled(const char *s, const unit *units,
                                 uint64_t *out)
{
    uint64_t ip = 0, fp = 0, pow10 = 1, v;
    unsigned __int128 frac;
    const unit *u;
    int overflow = 0;

    if (!is_digit(*s))
        return PARSE_SYNTAX;
    for (; is_digit(*s); s++)
        if (__builtin_mul_overflow(ip, 10, &ip) ||
            __builtin_add_overflow(ip, (uint64_t)(*s - '0'), &ip))
            overflow = 1;
    if (*s == '.') {
        s++;
        if (!is_digit(*s))
            return PARSE_SYNTAX;
        for (int n = 0; is_digit(*s); s++, n++) {
            if (n < MAX_FRACTION_DIGITS) {
                fp = fp * 10 + (uint64_t)(*s - '0');
                pow10 *= 10;
            } else if (*s != '0') {
                return PARSE_FRACTION;
            }
        }
    }
    for (u = units; u->suffix; u++)
        if (strcmp(s, u->suffix) == 0)
            break;
    if (!u->suffix)
        return PARSE_SYNTAX;
    if (overflow)
        return PARSE_OVERFLOW;
    frac = (unsigned __int128)fp * u->mult;
    if (frac % pow10 != 0)
        return PARSE_FRACTION;
    /* frac / pow10 < mult, so it fits in 64 bits. */
    if (__builtin_mul_overflow(ip, u->mult, &v) ||
        __builtin_add_overflow(v, (uint64_t)(frac / pow10), &v))
        return PARSE_OVERFLOW;
    *out = v;
    return PARSE_OK;
}

int frt_cli_parse_uint(const char *flag, const char *arg, uint64_t min,
                       uint64_t max, uint64_t *out, char *err, size_t errlen)
{
    static const unit plain[] = {{"", 1}, {NULL, 0}};
    uint64_t v;

    if (!arg || !*arg)
        return fail(err, errlen, FRT_ERR_INVALID, "%s: missing value", flag);
    /* Digits only: parse_scaled() would also take "5.0". */
    switch (strspn(arg, "0123456789") == strlen(arg)
                ? parse_scaled(arg, plain, &v)
                : PARSE_SYNTAX) {
    case PARSE_OK:
        if (v >= min && v <= max)
            break;
        /* fall through */
    case PARSE_OVERFLOW:
        return fail(err, errlen, FRT_ERR_RANGE,
                    "%s: %s is out of range: expected a whole number "
                    "from %llu to %llu",
                    flag, arg, (unsigned long long)min,
                    (unsigned long long)max);
    default:
        return fail(err, errlen, FRT_ERR_INVALID,
                    "%s: invalid value \"%s\": expected a whole number "
                    "from %llu to %llu",
                    flag, arg, (unsigned long long)min,
                    (unsigned long long)max);
    }
    *out = v;
    return 0;
}

int frt_cli_parse_bitrate(const char *flag, const char *arg, uint64_t *bps,
                          char *err, size_t errlen)
{
    uint64_t v = 0;

    if (!arg || !*arg)
        return fail(err, errlen, FRT_ERR_INVALID, "%s: missing value", flag);
    switch (parse_scaled(arg, bitrate_units, &v)) {
    case PARSE_OK:
        break;
    case PARSE_SYNTAX:
        return fail(err, errlen, FRT_ERR_INVALID,
                    "%s: invalid bit rate \"%s\": expected bit/s with an "
                    "optional k, M or G suffix, e.g. 500k or 2M",
                    flag, arg);
    case PARSE_FRACTION:
        return fail(err, errlen, FRT_ERR_INVALID,
                    "%s: invalid bit rate \"%s\": not a whole number of "
                    "bit/s",
                    flag, arg);
    case PARSE_OVERFLOW:
        return fail(err, errlen, FRT_ERR_RANGE,
                    "%s: bit rate \"%s\" is too large", flag, arg);
    }
    if (v == 0)
        return fail(err, errlen, FRT_ERR_RANGE,
                    "%s: bit rate must be positive, got \"%s\"", flag, arg);
    *bps = v;
    return 0;
}

int frt_cli_parse_duration(const char *flag, const char *arg, uint64_t *ns,
                           char *err, size_t errlen)
{
    uint64_t v = 0;

    if (!arg || !*arg)
        return fail(err, errlen, FRT_ERR_INVALID, "%s: missing value", flag);
    switch (parse_scaled(arg, duration_units, &v)) {
    case PARSE_OK:
        break;
    case PARSE_SYNTAX:
        return fail(err, errlen, FRT_ERR_INVALID,
                    "%s: invalid duration \"%s\": expected a number with "
                    "an optional ns, us, ms, s, m or h suffix, e.g. 500ms "
                    "or 15s (no suffix: seconds)",
                    flag, arg);
    case PARSE_FRACTION:
        return fail(err, errlen, FRT_ERR_INVALID,
                    "%s: invalid duration \"%s\": finer than 1 ns", flag,
                    arg);
    case PARSE_OVERFLOW:
        return fail(err, errlen, FRT_ERR_RANGE,
                    "%s: duration \"%s\" is too long", flag, arg);
    }
    if (v == 0)
        return fail(err, errlen, FRT_ERR_RANGE,
                    "%s: duration must be positive, got \"%s\"", flag, arg);
    *ns = v;
    return 0;
}

void frt_cli_print_version(FILE *f, const char *prog, const char *version)
{
    fprintf(f, "%s (libfastrelay) %s\n", prog, version);
}
