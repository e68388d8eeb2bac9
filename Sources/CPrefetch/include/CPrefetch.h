// Software prefetch for Swift (the standard library has none): a hint that the cache line holding
// `address` will be read soon. Never faults, whatever the address. Inlined into Swift callers.
#ifndef CORONER_CPREFETCH_H
#define CORONER_CPREFETCH_H

static inline __attribute__((always_inline)) void coroner_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
