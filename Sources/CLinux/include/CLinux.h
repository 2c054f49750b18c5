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
// BLKRRPART: the kernel re-reads a disk's partition table after a deploy wrote a new one.
int imprint_blk_reread_partitions(int fd);
// kexec_file_load(2) has no glibc wrapper; initrd_fd -1 with KEXEC_FILE_NO_INITRAMFS (4) in flags.
int imprint_kexec_file_load(int kernel_fd, int initrd_fd, const char *cmdline, unsigned long flags);
// reboot(2) into the kernel kexec_file_load staged.
int imprint_reboot_kexec(void);
// Network configuration ioctls (variadic), on a socket the caller opened
// (AF_INET, SOCK_DGRAM). Addresses are IPv4 in host byte order (10.0.2.15 is
// 0x0A00020F). Each returns ioctl's result: -1 with errno set on failure.
// SIOCGIFFLAGS then SIOCSIFFLAGS with IFF_UP added.
int imprint_if_up(int fd, const char *name);
// SIOCSIFADDR.
int imprint_if_set_address(int fd, const char *name, unsigned int address);
// SIOCSIFNETMASK.
int imprint_if_set_netmask(int fd, const char *name, unsigned int netmask);
// SIOCADDRT: a default route (0.0.0.0/0) via gateway, out of the named interface.
int imprint_add_default_route(int fd, const char *name, unsigned int gateway);
// openat2(2) has no glibc wrapper here (glibc 2.36): opens `path` under `dirfd` with
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, so one call proves the file is
// inside the folder and reached through no link. -1 with errno (ELOOP: a link on the way, ENOSYS:
// a kernel before 5.6) on failure.
int imprint_open_beneath(int dirfd, const char *path, int flags);
// A folder opened O_PATH | O_DIRECTORY (O_PATH does not import), for imprint_open_beneath.
int imprint_open_folder(const char *path);
#include "imprint_packet.h"
#endif
