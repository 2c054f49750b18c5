#ifndef IMPRINT_PACKET_H
#define IMPRINT_PACKET_H
// AF_PACKET sockets for the agent's DHCP client, which must send and receive before its interface
// has an address. Swift can call socket(2) and bind(2), but sockaddr_ll casts, the PACKET_AUXDATA
// control message (CMSG_* are macros) and the ETH_P_IP/TP_STATUS_* constants do not import cleanly.
// Each returns -1 with errno set on failure, as the system calls do.
#include <stddef.h>
#include <sys/types.h>

// socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP)) bound to the interface `name` (if_nametoindex), with
// PACKET_AUXDATA on so receives can tell an unfilled checksum. The kernel adds and strips the
// Ethernet header: what is sent and received is the IPv4 packet. Stores the ifindex in *ifindex.
int imprint_packet_open(const char *name, int *ifindex);

// sendto(2) of one IPv4 packet to the link-layer broadcast address ff:ff:ff:ff:ff:ff on `ifindex`.
ssize_t imprint_packet_send_broadcast(int fd, int ifindex, const void *packet, size_t length);

// What recvmsg(2) said about a received packet besides its bytes.
struct imprint_packet_info {
    // TP_STATUS_CSUMNOTREADY: the transport checksum was never filled in (checksum offload on a
    // packet from this host or through a veth); the UDP checksum field is not to be checked.
    int checksum_not_ready;
    // PACKET_OUTGOING: a copy of a packet this host sent (the socket sees its own DISCOVERs).
    int outgoing;
};

// One recvmsg(2), MSG_DONTWAIT: the packet's length (truncated to `capacity`), or -1 (EAGAIN when
// nothing is queued). Call poll(2) first to wait.
ssize_t imprint_packet_receive(int fd, void *buffer, size_t capacity, struct imprint_packet_info *info);
#endif
