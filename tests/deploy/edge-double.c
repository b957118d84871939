/* Deliberately broken stand-ins for the `edge` binary, deployed by tests/deploy/run.sh with
 * rpi-deploy.sh --binary to exercise its two safety nets. Built static for arm64:
 *   aarch64-linux-gnu-gcc -static -O2 -DBROKEN_SELFTEST edge-double.c -o edge-broken-selftest
 *     every command exits 1: `edge selftest` on the Pi must refuse the release before any switch.
 *   aarch64-linux-gnu-gcc -static -O2 edge-double.c -o edge-broken-run
 *     `selftest` and `run --print-config` pass but `run` exits 1 at once: the switch happens, the
 *     health check fails and the previous release must be restored automatically.
 * Nothing here imitates a working edge: a release that is meant to work is the real binary. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
#ifdef BROKEN_SELFTEST
    (void)cmd;
    fprintf(stderr, "edge (test double): broken on purpose, every command fails\n");
    return 1;
#else
    if (strcmp(cmd, "--version") == 0) {
        puts("0.0.0-broken-run (test double)");
        return 0;
    }
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--print-config") == 0) {
            puts("{}");
            return 0;
        }
    if (strcmp(cmd, "selftest") == 0) {
        puts("selftest: PASS (test double: only `run` is broken)");
        return 0;
    }
    fprintf(stderr, "edge (test double): '%s' fails on purpose\n", cmd);
    return 1;
#endif
}
