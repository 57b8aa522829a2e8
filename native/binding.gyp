{
  "targets": [
    {
      "target_name": "mtlzoo_native",
      "sources": ["src/addon.cc"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-O3", "-std=c++17", "-fexceptions", "-fopenmp"],
      "libraries": ["-ldnnl", "-fopenmp"]
    },
    {
      "target_name": "mtlzoo_search",
      "sources": ["src/search.cc"],
      "cflags_cc": ["-O3", "-std=c++17", "-fopenmp"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
