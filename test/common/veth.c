/* A veth pair in a network namespace of the test process's own. */
#define _GNU_SOURCE /* unshare */
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "veth.h"

int fr_test_private_veth(const char *a, const char *b, int *ifa, int *ifb)
{
    char cmd[256];
    int ia, ib;

    snprintf(cmd, sizeof(cmd),
             "ip link add %s type veth peer name %s && "
             "ip link set %s up && ip link set %s up",
             a, b, a, b);
    if (unshare(CLONE_NEWNET) != 0 || system(cmd) != 0)
        return -1;
    ia = (int)if_nametoindex(a);
    ib = (int)if_nametoindex(b);
    if (!ia || !ib)
        return -1;
    if (ifa)
        *ifa = ia;
    if (ifb)
        *ifb = ib;
    return 0;
}
