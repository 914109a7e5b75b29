/*
 * addrmap: counts per source address (IPv4 by address, IPv6 by /64).
 * Theory of operation: include/addrmap.h. Entries are unlinked and freed
 * the moment their count reaches zero; the bucket array only grows, to
 * the peak number of addresses seen at once.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addrmap.h"

#define ADDRMAP_MIN_BUCKETS	64

struct addrmap_entry {
	struct addrmap_entry	*next;
	uint8_t			 key[ADDRMAP_KEY_LEN];
	unsigned		 count;
	size_t			 hash;
};

void
addrmap_init(struct addrmap *m, uint64_t seed)
{
	memset(m, 0, sizeof(*m));
	m->seed = seed;
}

void
addrmap_free(struct addrmap *m)
{
	size_t i;

	for (i = 0; i < m->nbuckets; i++) {
		struct addrmap_entry *e = m->buckets[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = m->nentries = 0;
}

int
addrmap_key(const struct sockaddr_storage *addr,
    uint8_t key[ADDRMAP_KEY_LEN])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	memset(key, 0, ADDRMAP_KEY_LEN);
	if (addr->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)addr;

		memcpy(key, mapped, sizeof(mapped));
		memcpy(key + 12, &a->sin_addr, 4);
		return 0;
	}
	if (addr->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a =
		    (const struct sockaddr_in6 *)addr;
		const uint8_t *b = a->sin6_addr.s6_addr;

		if (memcmp(b, mapped, sizeof(mapped)) == 0)
			memcpy(key, b, ADDRMAP_KEY_LEN);
		else
			memcpy(key, b, 8);
		return 0;
	}
	return -1;
}

/* 64-bit mix (splitmix64's finaliser) of the key's two halves and seed. */
static size_t
key_hash(const struct addrmap *m, const uint8_t key[ADDRMAP_KEY_LEN])
{
	uint64_t a, b, h;

	memcpy(&a, key, 8);
	memcpy(&b, key + 8, 8);
	h = m->seed ^ a;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h ^= b;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return (size_t)h;
}

/* Doubles the bucket array (or makes the first). Return: 0 or -1. */
static int
grow(struct addrmap *m)
{
	size_t n = m->nbuckets ? m->nbuckets * 2 : ADDRMAP_MIN_BUCKETS, i;
	struct addrmap_entry **nb;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return -1;
	for (i = 0; i < m->nbuckets; i++) {
		struct addrmap_entry *e = m->buckets[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = nb;
	m->nbuckets = n;
	return 0;
}

struct addrmap_entry *
addrmap_take(struct addrmap *m, const struct sockaddr_storage *addr,
    unsigned cap)
{
	uint8_t key[ADDRMAP_KEY_LEN];
	struct addrmap_entry *e;
	size_t h;

	if (addrmap_key(addr, key) == -1) {
		errno = EAFNOSUPPORT;
		return NULL;
	}
	h = key_hash(m, key);
	if (m->nbuckets > 0) {
		for (e = m->buckets[h & (m->nbuckets - 1)]; e != NULL;
		    e = e->next) {
			if (e->hash != h || memcmp(e->key, key, sizeof(key)))
				continue;
			if (cap != 0 && e->count >= cap) {
				errno = EBUSY;
				return NULL;
			}
			e->count++;
			return e;
		}
	}
	if (m->nentries >= m->nbuckets && grow(m) == -1) {
		errno = ENOMEM;
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(e->key, key, sizeof(key));
	e->hash = h;
	e->count = 1;
	e->next = m->buckets[h & (m->nbuckets - 1)];
	m->buckets[h & (m->nbuckets - 1)] = e;
	m->nentries++;
	return e;
}

void
addrmap_put(struct addrmap *m, struct addrmap_entry *e)
{
	struct addrmap_entry **pp;

	if (e == NULL || --e->count > 0)
		return;
	for (pp = &m->buckets[e->hash & (m->nbuckets - 1)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			m->nentries--;
			free(e);
			return;
		}
	}
}

unsigned
addrmap_count(const struct addrmap_entry *e)
{
	return e->count;
}
