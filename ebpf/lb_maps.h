/* Shared by the BPF programs (lb.bpf.c) and the C++ loader: the one definition of every map
 * key and value of the VIP load balancer. Addresses and ports are in network byte order, as
 * the programs read them from the socket. */
#ifndef SHOAL_EBPF_LB_MAPS_H
#define SHOAL_EBPF_LB_MAPS_H

#include <linux/types.h>

/* Slots of one service in one generation. A backend of weight w fills w slots, so choosing a
 * slot uniformly honours the weights. */
#define SHOAL_LB_MAX_SLOTS 256

/* A frontend: the VIP, port and protocol (IPPROTO_TCP or IPPROTO_UDP) clients connect to. */
struct shoal_lb_frontend {
  __u32 vip;
  __u16 port;
  __u8 proto;
  __u8 pad;
};

/* What a frontend leads to. The backend slots of the service's live generation are the only
 * ones read; an update writes the other generation and then flips this value in one map write. */
struct shoal_lb_service {
  __u32 id;
  __u32 slot_count; /* 0: no backend, connections are refused at once */
  __u32 generation; /* 0 or 1 */
  __u32 pad;
};

struct shoal_lb_slot_key {
  __u32 service_id;
  __u32 index; /* generation * SHOAL_LB_MAX_SLOTS + slot */
};

struct shoal_lb_backend {
  __u32 ip;
  __u16 port;
  __u16 pad;
};

/* Per UDP socket: where its datagrams to a VIP go, so replies can be shown as from the VIP. */
struct shoal_lb_udp_binding {
  __u32 vip;
  __u16 vip_port;
  __u16 pad;
  __u32 backend_ip;
  __u16 backend_port;
  __u16 pad2;
};

#endif
