#define _GNU_SOURCE
#include "CLinux.h"
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/reboot.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

int imprint_finit_module(int fd, const char *params, int flags) {
    return (int)syscall(SYS_finit_module, fd, params, flags);
}
int imprint_power_off(void) { return reboot(RB_POWER_OFF); }
int imprint_restart(void) { return reboot(RB_AUTOBOOT); }
int imprint_blk_size(int fd, unsigned long long *bytes) {
    return ioctl(fd, BLKGETSIZE64, bytes);
}
