/* oracle_cases.h: the cases of test_query_oracle. */
#ifndef TESTS_INTEROP_ORACLE_CASES_H
#define TESTS_INTEROP_ORACLE_CASES_H

#include <jansson.h>

/*
 * A case is {"name", "attrs", "triples", "q", "cardinalityInference"?,
 * "pageInfo"?}; consecutive cases over the same store share the very same
 * "triples" value.
 */

/* Append the fixture cases (zeneca, movies): 0, or -1 if a file is
 * missing. */
int oracle_fixture_cases(json_t *cases);

/* Append n generated cases from seed. */
void gen_cases(json_t *cases, unsigned long seed, int n);

/* Append cases ordering strings from a wide alphabet. */
void collation_cases(json_t *cases);

/* Append benchmark cases ("bench": runs) over one store of n goals and n
 * todos. */
void bench_cases(json_t *cases, int n);

#endif
