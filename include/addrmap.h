/*
 * addrmap: a count per source address, for caps such as "at most N
 * visitors from one address". IPv4 addresses count one by one; IPv6 ones
 * by their /64, since one host or one customer commonly holds a whole /64
 * and could otherwise take a fresh address for every connection. An
 * IPv4-mapped IPv6 address counts as its IPv4 address.
 *
 * An entry exists only while its count is above zero, so the table holds
 * at most as many entries as there are counted objects alive. It is a
 * chained hash table, doubled when it holds as many entries as buckets;
 * the hash is seeded per table, so an attacker who picks source addresses
 * cannot aim them all at one chain.
 */
#ifndef TUNNEL_ADDRMAP_H
#define TUNNEL_ADDRMAP_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define ADDRMAP_KEY_LEN	16

struct addrmap_entry;

struct addrmap {
	struct addrmap_entry	**buckets;
	size_t			 nbuckets;	/* a power of two, or 0 */
	size_t			 nentries;
	uint64_t		 seed;
};

/* An empty map with hashing seeded by seed. Allocates nothing yet. */
void	addrmap_init(struct addrmap *m, uint64_t seed);

/* Frees every entry; m is empty (and reusable) afterwards. */
void	addrmap_free(struct addrmap *m);

/*
 * The key addr counts under: ::ffff:a.b.c.d for IPv4 (and IPv4-mapped
 * IPv6), the first 64 bits then zeros for IPv6. Return: 0, or -1 for
 * another family.
 */
int	addrmap_key(const struct sockaddr_storage *addr,
	    uint8_t key[ADDRMAP_KEY_LEN]);

/*
 * Adds one to addr's count unless that would pass cap (0 = no cap).
 * Return: the entry (hold it for addrmap_put), or NULL: cap reached
 * (errno EBUSY), out of memory (ENOMEM), or an unknown family
 * (EAFNOSUPPORT).
 */
struct addrmap_entry *addrmap_take(struct addrmap *m,
	    const struct sockaddr_storage *addr, unsigned cap);

/* Takes one off e's count; e is freed at zero. e may be NULL (no-op). */
void	addrmap_put(struct addrmap *m, struct addrmap_entry *e);

/* e's count now. */
unsigned addrmap_count(const struct addrmap_entry *e);

#endif
