// Ingress routing mesh (tc): a port published on every node reaches a backend on any node.
//
// shoal_ingress_from_uplink (tc ingress of the node's uplink): a packet to node_ip:published
// port is given a backend (chosen once per flow, kept in the conntrack map, so backend changes
// never move an existing flow), its destination rewritten to the backend's ingress-overlay
// address and target port, its source to this node's ingress address and an allocated port (so
// the reply comes back through this node), and it is redirected into the ingress overlay.
// shoal_ingress_from_overlay (tc ingress of the node's ingress interface): the reply is
// translated back and redirected out of the uplink. Neither direction touches netfilter or
// needs ip_forward. A port published with SHOAL_LB_PRESERVE_SOURCE is balanced over this
// node's tasks only and keeps the client's address; the tasks' replies reach the node through
// the ingress gateway it holds, and are translated back the same way. Fragments, non-TCP/UDP and IP
// options pass untouched to the host stack. linux/bpf.h defines the types the libbpf headers use:
// it must come first.
#include <linux/bpf.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "ebpf/lb_maps.h"

char LICENSE[] SEC("license") = "GPL";

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, struct shoal_ingress_port);
  __type(value, struct shoal_lb_service);
} shoal_ingress_ports SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536); /* the same pinned map as the VIP programs' */
  __type(key, struct shoal_lb_slot_key);
  __type(value, struct shoal_lb_backend);
} shoal_lb_slots SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct shoal_ingress_config);
} shoal_ingress_cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 262144);
  __type(key, struct shoal_ct_client);
  __type(value, struct shoal_ct_backend);
} shoal_ct_out SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 262144);
  __type(key, struct shoal_ct_backend);
  __type(value, struct shoal_ct_client);
} shoal_ct_back SEC(".maps");

#define IP_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))
#define IP_SRC_OFF (ETH_HLEN + offsetof(struct iphdr, saddr))
#define IP_DST_OFF (ETH_HLEN + offsetof(struct iphdr, daddr))
#define L4_OFF (ETH_HLEN + sizeof(struct iphdr))

struct flow {
  __u32 saddr, daddr;
  __u16 sport, dport;
  __u8 proto;
  __u8 syn;       /* a TCP SYN without ACK, or any UDP datagram: may start a flow */
  __u32 csum_off; /* offset of the L4 checksum */
};

/* Parses Ethernet + IPv4 (no options, no fragments) + TCP/UDP. Returns 0 when not such a packet. */
static __always_inline int parse(struct __sk_buff* skb, struct flow* f) {
  void* data = (void*)(long)skb->data;
  void* end = (void*)(long)skb->data_end;
  struct ethhdr* eth = data;
  struct iphdr* ip = data + ETH_HLEN;
  if ((void*)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
      (ip->frag_off & bpf_htons(0x3fff)) != 0) {
    return 0;
  }
  f->saddr = ip->saddr;
  f->daddr = ip->daddr;
  f->proto = ip->protocol;
  if (ip->protocol == IPPROTO_TCP) {
    struct tcphdr* tcp = (void*)(ip + 1);
    if ((void*)(tcp + 1) > end)
      return 0;
    f->sport = tcp->source;
    f->dport = tcp->dest;
    f->syn = tcp->syn && !tcp->ack;
    f->csum_off = L4_OFF + offsetof(struct tcphdr, check);
    return 1;
  }
  if (ip->protocol == IPPROTO_UDP) {
    struct udphdr* udp = (void*)(ip + 1);
    if ((void*)(udp + 1) > end)
      return 0;
    f->sport = udp->source;
    f->dport = udp->dest;
    f->syn = 1;
    f->csum_off = L4_OFF + offsetof(struct udphdr, check);
    return 1;
  }
  return 0;
}

/* Rewrites source and destination address and port, keeping both checksums right. */
static __always_inline int rewrite(struct __sk_buff* skb, const struct flow* f, __u32 saddr,
                                   __u16 sport, __u32 daddr, __u16 dport) {
  __u64 l4_flags = BPF_F_PSEUDO_HDR | sizeof(__u32);
  if (f->proto == IPPROTO_UDP) {
    l4_flags |= BPF_F_MARK_MANGLED_0;
  }
  __u32 sport_off = L4_OFF, dport_off = L4_OFF + sizeof(__u16);
  if (bpf_l4_csum_replace(skb, f->csum_off, f->saddr, saddr, l4_flags) ||
      bpf_l4_csum_replace(skb, f->csum_off, f->daddr, daddr, l4_flags) ||
      bpf_l4_csum_replace(skb, f->csum_off, f->sport, sport,
                          sizeof(__u16) | (l4_flags & BPF_F_MARK_MANGLED_0)) ||
      bpf_l4_csum_replace(skb, f->csum_off, f->dport, dport,
                          sizeof(__u16) | (l4_flags & BPF_F_MARK_MANGLED_0)) ||
      bpf_l3_csum_replace(skb, IP_CSUM_OFF, f->saddr, saddr, sizeof(__u32)) ||
      bpf_l3_csum_replace(skb, IP_CSUM_OFF, f->daddr, daddr, sizeof(__u32)) ||
      bpf_skb_store_bytes(skb, IP_SRC_OFF, &saddr, sizeof(saddr), 0) ||
      bpf_skb_store_bytes(skb, IP_DST_OFF, &daddr, sizeof(daddr), 0) ||
      bpf_skb_store_bytes(skb, sport_off, &sport, sizeof(sport), 0) ||
      bpf_skb_store_bytes(skb, dport_off, &dport, sizeof(dport), 0)) {
    return -1;
  }
  return 0;
}

static __always_inline const struct shoal_lb_backend* choose(const struct shoal_lb_service* s,
                                                             __u32 hash) {
  __u32 count = s->slot_count;
  if (count == 0 || count > SHOAL_LB_MAX_SLOTS)
    return 0;
  struct shoal_lb_slot_key slot = {
      .service_id = s->id, .index = (s->generation & 1) * SHOAL_LB_MAX_SLOTS + hash % count};
  return bpf_map_lookup_elem(&shoal_lb_slots, &slot);
}

/* Whether the backend of a recorded flow still serves its published port. A TCP SYN from a
 * client port used before finds that earlier flow's entry (flows are forgotten least recently
 * used first, not when they end); if its backend has gone since, the SYN starts a new flow. (A
 * UDP datagram is not checked: each would pay the scan.) */
static __always_inline int still_serves(const struct shoal_ct_client* client,
                                        const struct shoal_ct_backend* flow) {
  struct shoal_ingress_port port_key = {.port = client->published_port, .proto = client->proto};
  const struct shoal_lb_service* s = bpf_map_lookup_elem(&shoal_ingress_ports, &port_key);
  if (!s || s->slot_count > SHOAL_LB_MAX_SLOTS)
    return 0;
  for (__u32 i = 0; i < SHOAL_LB_MAX_SLOTS; ++i) {
    if (i >= s->slot_count)
      break;
    struct shoal_lb_slot_key slot = {.service_id = s->id,
                                     .index = (s->generation & 1) * SHOAL_LB_MAX_SLOTS + i};
    const struct shoal_lb_backend* b = bpf_map_lookup_elem(&shoal_lb_slots, &slot);
    if (b && b->ip == flow->backend_ip && b->port == flow->backend_port)
      return 1;
  }
  return 0;
}

/* A new flow: a backend and a free SNAT port, recorded in both directions. */
static __always_inline int open_flow(const struct flow* f, const struct shoal_ct_client* client,
                                     __u32 ingress_ip, struct shoal_ct_backend* out) {
  struct shoal_ingress_port port_key = {.port = f->dport, .proto = f->proto};
  const struct shoal_lb_service* service = bpf_map_lookup_elem(&shoal_ingress_ports, &port_key);
  if (!service)
    return -1;
  __u32 hash = bpf_get_prandom_u32();
  const struct shoal_lb_backend* backend = choose(service, hash);
  if (!backend)
    return -1;
  out->backend_ip = backend->ip;
  out->backend_port = backend->port;
  out->proto = f->proto;
  if (service->flags & SHOAL_LB_PRESERVE_SOURCE) {
    out->peer_ip = f->saddr;
    out->peer_port = f->sport;
    if (bpf_map_update_elem(&shoal_ct_back, out, client, BPF_ANY) != 0)
      return -1;
    bpf_map_update_elem(&shoal_ct_out, client, out, BPF_ANY);
    return 0;
  }
  out->peer_ip = ingress_ip;
#pragma unroll
  for (int attempt = 0; attempt < 8; ++attempt) {
    out->peer_port =
        bpf_htons(SHOAL_SNAT_PORT_MIN + (hash + attempt * 7919) % SHOAL_SNAT_PORT_COUNT);
    if (bpf_map_update_elem(&shoal_ct_back, out, client, BPF_NOEXIST) == 0) {
      bpf_map_update_elem(&shoal_ct_out, client, out, BPF_ANY);
      return 0;
    }
  }
  return -1;
}

SEC("tc")
int shoal_ingress_from_uplink(struct __sk_buff* skb) {
  __u32 zero = 0;
  const struct shoal_ingress_config* cfg = bpf_map_lookup_elem(&shoal_ingress_cfg, &zero);
  struct flow f = {};
  if (!cfg || !parse(skb, &f) || f.daddr != cfg->node_ip)
    return TC_ACT_OK;
  struct shoal_ct_client client = {
      .client_ip = f.saddr, .client_port = f.sport, .published_port = f.dport, .proto = f.proto};
  struct shoal_ct_backend flow_backend = {}; /* zeroed: its pad bytes are part of a map key */
  const struct shoal_ct_backend* known = bpf_map_lookup_elem(&shoal_ct_out, &client);
  if (known && f.syn && f.proto == IPPROTO_TCP && !still_serves(&client, known)) {
    flow_backend = *known;
    bpf_map_delete_elem(&shoal_ct_back, &flow_backend); /* its reply path, to the gone backend */
    flow_backend = (struct shoal_ct_backend){};
    known = 0;
  }
  if (known) {
    flow_backend = *known;
  } else if (!f.syn || open_flow(&f, &client, cfg->ingress_ip, &flow_backend) != 0) {
    return TC_ACT_OK; /* not published here, or no backend: the host stack answers (RST) */
  }
  if (rewrite(skb, &f, flow_backend.peer_ip, flow_backend.peer_port, flow_backend.backend_ip,
              flow_backend.backend_port) != 0) {
    return TC_ACT_SHOT;
  }
  return bpf_redirect_neigh(cfg->ingress_ifindex, 0, 0, 0);
}

SEC("tc")
int shoal_ingress_from_overlay(struct __sk_buff* skb) {
  __u32 zero = 0;
  const struct shoal_ingress_config* cfg = bpf_map_lookup_elem(&shoal_ingress_cfg, &zero);
  struct flow f = {};
  if (!cfg || !parse(skb, &f))
    return TC_ACT_OK;
  struct shoal_ct_backend key = {.backend_ip = f.saddr,
                                 .peer_ip = f.daddr,
                                 .backend_port = f.sport,
                                 .peer_port = f.dport,
                                 .proto = f.proto};
  const struct shoal_ct_client* client = bpf_map_lookup_elem(&shoal_ct_back, &key);
  if (!client)
    return TC_ACT_OK;
  struct shoal_ct_client c = *client;
  if (rewrite(skb, &f, cfg->node_ip, c.published_port, c.client_ip, c.client_port) != 0) {
    return TC_ACT_SHOT;
  }
  return bpf_redirect_neigh(cfg->uplink_ifindex, 0, 0, 0);
}
