#define _GNU_SOURCE
#include "CLinux.h"
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/reboot.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <string.h>
#include <linux/openat2.h>
#include <fcntl.h>

int imprint_finit_module(int fd, const char *params, int flags) {
    return (int)syscall(SYS_finit_module, fd, params, flags);
}
int imprint_power_off(void) { return reboot(RB_POWER_OFF); }
int imprint_restart(void) { return reboot(RB_AUTOBOOT); }
int imprint_blk_size(int fd, unsigned long long *bytes) {
    return ioctl(fd, BLKGETSIZE64, bytes);
}

int imprint_blk_reread_partitions(int fd) {
    return ioctl(fd, BLKRRPART, 0);
}

int imprint_kexec_file_load(int kernel_fd, int initrd_fd, const char *cmdline, unsigned long flags) {
    unsigned long length = cmdline ? strlen(cmdline) + 1 : 0;
    return (int)syscall(SYS_kexec_file_load, kernel_fd, initrd_fd, length, cmdline, flags);
}

int imprint_reboot_kexec(void) {
    return reboot(RB_KEXEC);
}

#include <errno.h>
#include <string.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <arpa/inet.h>

static int imprint_ifreq(struct ifreq *request, const char *name) {
    memset(request, 0, sizeof *request);
    if (name == NULL || strlen(name) >= IFNAMSIZ) { errno = EINVAL; return -1; }
    strncpy(request->ifr_name, name, IFNAMSIZ - 1);
    return 0;
}

static void imprint_sockaddr(struct sockaddr *out, unsigned int address) {
    struct sockaddr_in in;
    memset(&in, 0, sizeof in);
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(address);
    memcpy(out, &in, sizeof in);
}

int imprint_if_up(int fd, const char *name) {
    struct ifreq request;
    if (imprint_ifreq(&request, name) != 0) return -1;
    if (ioctl(fd, SIOCGIFFLAGS, &request) != 0) return -1;
    request.ifr_flags |= IFF_UP;
    return ioctl(fd, SIOCSIFFLAGS, &request);
}

int imprint_if_set_address(int fd, const char *name, unsigned int address) {
    struct ifreq request;
    if (imprint_ifreq(&request, name) != 0) return -1;
    imprint_sockaddr(&request.ifr_addr, address);
    return ioctl(fd, SIOCSIFADDR, &request);
}

int imprint_if_set_netmask(int fd, const char *name, unsigned int netmask) {
    struct ifreq request;
    if (imprint_ifreq(&request, name) != 0) return -1;
    imprint_sockaddr(&request.ifr_netmask, netmask);
    return ioctl(fd, SIOCSIFNETMASK, &request);
}

int imprint_add_default_route(int fd, const char *name, unsigned int gateway) {
    struct rtentry route;
    char device[IFNAMSIZ];
    memset(&route, 0, sizeof route);
    if (name == NULL || strlen(name) >= IFNAMSIZ) { errno = EINVAL; return -1; }
    strncpy(device, name, IFNAMSIZ - 1);
    device[IFNAMSIZ - 1] = 0;
    imprint_sockaddr(&route.rt_dst, 0);
    imprint_sockaddr(&route.rt_genmask, 0);
    imprint_sockaddr(&route.rt_gateway, gateway);
    route.rt_flags = RTF_UP | RTF_GATEWAY;
    route.rt_dev = device;
    return ioctl(fd, SIOCADDRT, &route);
}

int imprint_open_beneath(int dirfd, const char *path, int flags) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (unsigned long long)flags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

int imprint_open_folder(const char *path) {
    return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}
