/*
 * libFuzzer harness for the front's sniffing (src/front_sniff.c).
 *
 * The input is a visitor's first bytes, given to front_sni() and to
 * front_http_host() as a receiver would: a growing prefix at a time.
 *
 * 1. A verdict other than NEED_MORE is final: every longer prefix gets
 *    the same one, and the same name.
 * 2. FOUND means a name front_name_ok() accepts, already lowercased, so
 *    routing compares it as it is.
 * 3. front_name_ok() on the raw input agrees with its own rules: what it
 *    accepts is 1..253 bytes of letters, digits, hyphens and dots.
 *
 * Each prefix is an exact-size heap copy, so ASan sees any read past it.
 *
 * Build: make fuzz (clang -fsanitize=fuzzer,address,undefined).
 * Replay: build/test_fuzz_replay (tests/unit/test_fuzz_replay.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "front_sniff.h"
#include "fuzz_common.h"

#define FF_MAX_INPUT	(FRONT_MAX_HELLO + 4096)

typedef enum front_sniff (*ff_fn)(const uint8_t *, size_t,
    char[FRONT_MAX_NAME + 1]);

static void
ff_check(ff_fn fn, const uint8_t *data, size_t size)
{
	char name[FRONT_MAX_NAME + 1], first[FRONT_MAX_NAME + 1], again[
	    FRONT_MAX_NAME + 1];
	enum front_sniff r, decided = FRONT_NEED_MORE;
	size_t i, step;
	uint8_t *c;

	for (i = 0; i <= size; i += step) {
		/* Every prefix of the first KiB, then a sample. */
		step = i < 1024 ? 1 : 97;
		if ((c = malloc(i ? i : 1)) == NULL)
			return;
		memcpy(c, data, i);
		r = fn(c, i, name);
		free(c);
		if (decided != FRONT_NEED_MORE) {
			FUZZ_CHECK(r == decided);
			if (r == FRONT_FOUND)
				FUZZ_CHECK(strcmp(name, first) == 0);
			continue;
		}
		if (r == FRONT_FOUND) {
			FUZZ_CHECK(front_name_ok(name, strlen(name), again));
			FUZZ_CHECK(strcmp(name, again) == 0);
			memcpy(first, name, sizeof(first));
		}
		decided = r;
		if (i < size && i + step > size)
			step = size - i;
	}
}

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[FRONT_MAX_NAME + 1];
	size_t i;

	if (size > FF_MAX_INPUT)
		size = FF_MAX_INPUT;
	ff_check(front_sni, data, size);
	ff_check(front_http_host, data, size);
	if (front_name_ok((const char *)data, size, name)) {
		FUZZ_CHECK(size >= 1 && size <= FRONT_MAX_NAME);
		for (i = 0; i < size; i++)
			FUZZ_CHECK((data[i] >= 'a' && data[i] <= 'z') ||
			    (data[i] >= 'A' && data[i] <= 'Z') ||
			    (data[i] >= '0' && data[i] <= '9') ||
			    data[i] == '-' || data[i] == '.');
	}
	return 0;
}
