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
  __u32 flags;      /* SHOAL_LB_* below */
};

/* A published port whose backends see the client's own address: no SNAT, and only this
 * node's tasks as backends (their replies come back through the node's ingress gateway). */
#define SHOAL_LB_PRESERVE_SOURCE 1u

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

/* Ingress routing mesh: a port published on every node. */
struct shoal_ingress_port {
  __u16 port; /* network order */
  __u8 proto;
  __u8 pad;
};

/* What the node's ingress programs need to know about the node. */
struct shoal_ingress_config {
  __u32 node_ip;         /* the underlay address clients reach */
  __u32 ingress_ip;      /* this node's address on the ingress overlay: the SNAT source */
  __u32 uplink_ifindex;  /* where clients come from */
  __u32 ingress_ifindex; /* this node's interface on the ingress overlay */
};

/* Connection tracking of the mesh, both directions. */
struct shoal_ct_client {
  __u32 client_ip;
  __u16 client_port;
  __u16 published_port;
  __u8 proto;
  __u8 pad[3];
};

/* The backend side of a flow: what its replies look like. The peer is this node's ingress
 * address and an allocated port (SNAT), or the client itself (source preserved). */
struct shoal_ct_backend {
  __u32 backend_ip;
  __u32 peer_ip;
  __u16 backend_port;
  __u16 peer_port;
  __u8 proto;
  __u8 pad[3];
};

/* The SNAT source ports the mesh uses on the node's ingress address. */
#define SHOAL_SNAT_PORT_MIN 33000
#define SHOAL_SNAT_PORT_COUNT 28000

#endif
