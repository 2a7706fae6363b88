/*
 * torus-hw: the scan and top-k search loops every C baseline shares.
 *
 * A baseline source defines, before including this file:
 *   torus_query                      the query in the form its row code wants
 *   torus_prepare(&pq, q)            builds it, once per call
 *   torus_row(&pq, row)              one row's distance
 * and, for multi-row groups (TORUS_GROUP > 1), torus_rows(&pq, rows, d)
 * writing the distances of TORUS_GROUP consecutive rows to d[].
 *
 * Search semantics are torus_hw/reference.py's: the min(k, n) rows with the
 * smallest (distance, row index), ascending; a row is kept only when strictly
 * closer than the current k-th, so ties keep the lower row.
 */
#ifndef TORUS_SEARCH_H
#define TORUS_SEARCH_H

#ifndef TORUS_GROUP
#define TORUS_GROUP 1
#endif

uint32_t torus_distance(const uint8_t *q, const uint8_t *row)
{
    torus_query pq;
    torus_prepare(&pq, q);
    return torus_row(&pq, row);
}

void torus_scan(const uint8_t *q, const uint8_t *db, uint32_t n, uint32_t *out)
{
    torus_query pq;
    torus_prepare(&pq, q);
    uint32_t i = 0;
#if TORUS_GROUP > 1
    for (; i + TORUS_GROUP <= n; i += TORUS_GROUP)
        torus_rows(&pq, db + (uintptr_t)i * TORUS_ROW_STRIDE, out + i);
#endif
    for (; i < n; i++)
        out[i] = torus_row(&pq, db + (uintptr_t)i * TORUS_ROW_STRIDE);
}

/* Insert (d, i) into the sorted list of `*found` entries; returns the new k-th distance. */
static inline uint32_t torus_keep(uint32_t d, uint32_t i, uint32_t k, uint32_t *found,
                                  uint32_t *out_idx, uint32_t *out_dist)
{
    uint32_t pos = *found < k ? (*found)++ : k - 1;
    while (pos > 0 && out_dist[pos - 1] > d) {
        out_dist[pos] = out_dist[pos - 1];
        out_idx[pos] = out_idx[pos - 1];
        pos--;
    }
    out_dist[pos] = d;
    out_idx[pos] = i;
    return *found == k ? out_dist[k - 1] : 0xFFFFFFFFu;
}

uint32_t torus_search(const uint8_t *q, const uint8_t *db, uint32_t n, uint32_t k,
                      uint32_t *out_idx, uint32_t *out_dist)
{
    uint32_t found = 0;
    /* The k-th best distance once the list is full; until then every row is
     * kept (the `found < k` test covers a distance equal to the sentinel). */
    uint32_t worst = 0xFFFFFFFFu;
    torus_query pq;
    if (k > TORUS_K_MAX)
        k = TORUS_K_MAX;
    if (k == 0)
        return 0;
    torus_prepare(&pq, q);
    uint32_t i = 0;
#if TORUS_GROUP > 1
    for (; i + TORUS_GROUP <= n; i += TORUS_GROUP) {
        uint32_t d[TORUS_GROUP];
        torus_rows(&pq, db + (uintptr_t)i * TORUS_ROW_STRIDE, d);
        for (uint32_t g = 0; g < TORUS_GROUP; g++)
            if (d[g] < worst || found < k)
                worst = torus_keep(d[g], i + g, k, &found, out_idx, out_dist);
    }
#endif
    for (; i < n; i++) {
        uint32_t d = torus_row(&pq, db + (uintptr_t)i * TORUS_ROW_STRIDE);
        if (d < worst || found < k)
            worst = torus_keep(d, i, k, &found, out_idx, out_dist);
    }
    return found;
}

#endif
