/* The floor for `make bench`: what reading a capture costs in C with libpcap. Reads every packet with
 * pcap_next_ex, parses Ethernet (+802.1Q), IPv4/IPv6 and TCP, and counts packets per connection in an
 * open-addressing hash table keyed by the canonical 4-tuple (grown as needed, never shrunk; nothing
 * is ever removed). No diagnosis, no output beyond a summary line: coroner does far more per packet,
 * so this is the speed it can approach, not match.
 *
 *   cc -O2 -o floor floor.c -lpcap && ./floor capture.pcap
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct key { uint64_t a_hi, a_lo, b_hi, b_lo; uint16_t a_port, b_port; uint8_t v6; };
struct entry { struct key key; uint64_t packets; uint8_t used; };

static struct entry *table;
static size_t capacity = 1 << 16, count;

static uint64_t hash(const struct key *k) {
    uint64_t h = 0x9E3779B97F4A7C15ull;
    uint64_t parts[5] = {k->a_hi, k->a_lo, k->b_hi, k->b_lo, ((uint64_t)k->a_port << 32) | ((uint64_t)k->b_port << 16) | k->v6};
    for (int i = 0; i < 5; i++) { h ^= parts[i]; h *= 0xBF58476D1CE4E5B9ull; h ^= h >> 31; }
    return h;
}

static int same(const struct key *x, const struct key *y) {
    return x->a_hi == y->a_hi && x->a_lo == y->a_lo && x->b_hi == y->b_hi && x->b_lo == y->b_lo &&
           x->a_port == y->a_port && x->b_port == y->b_port && x->v6 == y->v6;
}

static struct entry *find(const struct key *k, struct entry *t, size_t cap) {
    size_t i = hash(k) & (cap - 1);
    while (t[i].used && !same(&t[i].key, k)) i = (i + 1) & (cap - 1);
    return &t[i];
}

static void grow(void) {
    size_t bigger = capacity * 2;
    struct entry *t = calloc(bigger, sizeof *t);
    for (size_t i = 0; i < capacity; i++)
        if (table[i].used) *find(&table[i].key, t, bigger) = table[i];
    free(table);
    table = t;
    capacity = bigger;
}

static uint64_t be(const uint8_t *p, int n) { uint64_t v = 0; for (int i = 0; i < n; i++) v = v << 8 | p[i]; return v; }

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: floor capture.pcap\n"); return 64; }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, err);
    if (!p) { fprintf(stderr, "floor: %s\n", err); return 2; }
    table = calloc(capacity, sizeof *table);
    struct pcap_pkthdr *h;
    const uint8_t *d;
    uint64_t packets = 0, tcp = 0, bytes = 0;
    while (pcap_next_ex(p, &h, &d) == 1) {
        packets++;
        if (h->caplen < 14) continue;
        size_t off = 14;
        unsigned type = be(d + 12, 2);
        while (type == 0x8100 && h->caplen >= off + 4) { type = be(d + off + 2, 2); off += 4; }
        struct key k = {0};
        const uint8_t *t;
        size_t left;
        if (type == 0x0800 && h->caplen >= off + 20) {
            const uint8_t *ip = d + off;
            size_t ihl = (ip[0] & 15) * 4;
            if (ip[9] != 6 || h->caplen < off + ihl + 20) continue;
            k.a_lo = be(ip + 12, 4); k.b_lo = be(ip + 16, 4);
            t = ip + ihl; left = h->caplen - off - ihl;
        } else if (type == 0x86DD && h->caplen >= off + 40) {
            const uint8_t *ip = d + off;
            if (ip[6] != 6 || h->caplen < off + 60) continue;
            k.a_hi = be(ip + 8, 8); k.a_lo = be(ip + 16, 8); k.b_hi = be(ip + 24, 8); k.b_lo = be(ip + 32, 8); k.v6 = 1;
            t = ip + 40; left = h->caplen - off - 40;
        } else continue;
        (void)left;
        k.a_port = be(t, 2); k.b_port = be(t + 2, 2);
        bytes += h->len;
        /* canonical order: lower endpoint first */
        if (k.a_hi > k.b_hi || (k.a_hi == k.b_hi && (k.a_lo > k.b_lo || (k.a_lo == k.b_lo && k.a_port > k.b_port)))) {
            uint64_t x; uint16_t y;
            x = k.a_hi; k.a_hi = k.b_hi; k.b_hi = x; x = k.a_lo; k.a_lo = k.b_lo; k.b_lo = x;
            y = k.a_port; k.a_port = k.b_port; k.b_port = y;
        }
        tcp++;
        struct entry *e = find(&k, table, capacity);
        if (!e->used) {
            e->used = 1; e->key = k; count++;
            if (count * 2 > capacity) { grow(); e = find(&k, table, capacity); }
        }
        e->packets++;
    }
    printf("packets %llu tcp %llu flows %zu bytes %llu\n", (unsigned long long)packets, (unsigned long long)tcp, count,
           (unsigned long long)bytes);
    pcap_close(p);
    return 0;
}
