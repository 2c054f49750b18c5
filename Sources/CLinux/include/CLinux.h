#ifndef IMPRINT_CLINUX_H
#define IMPRINT_CLINUX_H
// What Glibc does not import into Swift, each wrapped in a prefixed function.
#include <stddef.h>

// finit_module(2) has no glibc wrapper; syscall(2) is variadic.
int imprint_finit_module(int fd, const char *params, int flags);
// reboot(2) with the LINUX_REBOOT_CMD_* values from <linux/reboot.h>, which do not import.
int imprint_power_off(void);
int imprint_restart(void);
// ioctl(2) is variadic: BLKGETSIZE64 for a block device's size in bytes.
int imprint_blk_size(int fd, unsigned long long *bytes);
#endif
