"""FAISS side of `npm run bench:search`: exact (IndexFlatL2) and HNSW (IndexHNSWFlat) search of the same
vectors mtlzoo searches, at the same thread count. Run with Debian's /usr/bin/python3 (python3-faiss).

    python3 faiss_search.py GALLERY.f32 QUERIES.f32 DIM K THREADS [--hnsw M EF_CONSTRUCTION EF,EF,... TRUTH.i32]

Prints one JSON object: the faiss version, the BLAS library it runs on, flat queries/s, and per efSearch
the HNSW queries/s and recall@K against TRUTH (row-major int32 [queries, K] exact neighbours).
"""
import json
import os
import sys
import time

import faiss
import numpy as np


def blas_library():
    """The BLAS shared object this process loaded (FAISS's speed depends on it)."""
    with open("/proc/self/maps") as maps:
        names = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
    return sorted(names)


def timed_search(index, queries, k):
    index.search(queries[: min(10, len(queries))], k)  # warm-up
    start = time.perf_counter()
    _, found = index.search(queries, k)
    return len(queries) / (time.perf_counter() - start), found


def main():
    gallery_file, queries_file, dim, k, threads = sys.argv[1:6]
    dim, k, threads = int(dim), int(k), int(threads)
    faiss.omp_set_num_threads(threads)
    gallery = np.fromfile(gallery_file, dtype=np.float32).reshape(-1, dim)
    queries = np.fromfile(queries_file, dtype=np.float32).reshape(-1, dim)
    out = {"faiss": faiss.__version__, "blas": blas_library(), "threads": threads}
    flat = faiss.IndexFlatL2(dim)
    flat.add(gallery)
    out["flatQps"], _ = timed_search(flat, queries, k)
    del flat
    if len(sys.argv) > 6 and sys.argv[6] == "--hnsw":
        m, ef_construction = int(sys.argv[7]), int(sys.argv[8])
        efs = [int(e) for e in sys.argv[9].split(",")]
        truth = np.fromfile(sys.argv[10], dtype=np.int32).reshape(-1, k)
        hnsw = faiss.IndexHNSWFlat(dim, m)
        hnsw.hnsw.efConstruction = ef_construction
        start = time.perf_counter()
        hnsw.add(gallery)
        out["hnswBuildSeconds"] = time.perf_counter() - start
        saved = gallery_file + ".faiss"
        faiss.write_index(hnsw, saved)
        out["hnswIndexMiB"] = os.path.getsize(saved) / 2**20
        os.remove(saved)
        sweep = []
        for ef in efs:
            hnsw.hnsw.efSearch = ef
            qps, found = timed_search(hnsw, queries, k)
            hits = sum(len(set(found[q]) & set(truth[q])) for q in range(len(queries)))
            sweep.append({"efSearch": ef, "qps": qps, "recall": hits / (len(queries) * k)})
        out["hnsw"] = sweep
    print(json.dumps(out))


if __name__ == "__main__":
    main()
