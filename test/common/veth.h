/* A veth pair in a network namespace of the test process's own. */
#ifndef FR_TEST_VETH_H
#define FR_TEST_VETH_H

/* Moves the calling process into a new network namespace (nothing the test
 * does there touches the host's) and makes the veth pair a <-> b, both up.
 * Their interface indexes go to *ifa and *ifb (either may be NULL).
 * Returns 0, or -1 if that failed. Needs root. */
int fr_test_private_veth(const char *a, const char *b, int *ifa, int *ifb);

#endif
