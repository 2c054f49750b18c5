// AF_PACKET helpers for the agent's DHCP client (see include/imprint_packet.h).
#include "imprint_packet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int imprint_packet_open(const char *name, int *ifindex) {
    unsigned int index = if_nametoindex(name);
    if (index == 0) return -1;
    int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));
    if (fd < 0) return -1;
    int one = 1;
    struct sockaddr_ll address;
    memset(&address, 0, sizeof address);
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_IP);
    address.sll_ifindex = (int)index;
    if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0
        || bind(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    *ifindex = (int)index;
    return fd;
}

ssize_t imprint_packet_send_broadcast(int fd, int ifindex, const void *packet, size_t length) {
    struct sockaddr_ll address;
    memset(&address, 0, sizeof address);
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_IP);
    address.sll_ifindex = ifindex;
    address.sll_halen = ETH_ALEN;
    memset(address.sll_addr, 0xFF, ETH_ALEN);
    return sendto(fd, packet, length, 0, (struct sockaddr *)&address, sizeof address);
}

ssize_t imprint_packet_receive(int fd, void *buffer, size_t capacity, struct imprint_packet_info *info) {
    struct sockaddr_ll from;
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
    } control;
    struct iovec vector = { .iov_base = buffer, .iov_len = capacity };
    struct msghdr message;
    memset(&message, 0, sizeof message);
    memset(&from, 0, sizeof from);
    message.msg_name = &from;
    message.msg_namelen = sizeof from;
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = &control;
    message.msg_controllen = sizeof control;
    ssize_t received = recvmsg(fd, &message, MSG_DONTWAIT);
    if (received < 0) return -1;
    info->checksum_not_ready = 0;
    info->outgoing = from.sll_pkttype == PACKET_OUTGOING;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level == SOL_PACKET && header->cmsg_type == PACKET_AUXDATA
            && header->cmsg_len >= CMSG_LEN(sizeof(struct tpacket_auxdata))) {
            struct tpacket_auxdata auxdata;
            memcpy(&auxdata, CMSG_DATA(header), sizeof auxdata);
            info->checksum_not_ready = (auxdata.tp_status & TP_STATUS_CSUMNOTREADY) != 0;
        }
    }
    return received;
}
