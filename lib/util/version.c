/* Run-time version query. */
#include <fastrelay/version.h>

const char *fr_version(void)
{
    return FR_VERSION;
}
