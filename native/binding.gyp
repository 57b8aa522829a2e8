{
  "targets": [
    {
      "target_name": "mtlzoo_native",
      "sources": [
        "src/addon.cc",
        "src/call.cc",
        "src/conv.cc",
        "src/convolution.cc",
        "src/fused_conv.cc",
        "src/max_pool.cc",
        "src/max_pool_grad.cc",
        "src/unary.cc",
        "src/binary.cc",
        "src/repeat.cc",
        "src/sum_rows.cc",
        "src/batch_norm.cc",
        "src/batch_norm_grad.cc",
        "src/scale_shift.cc",
        "src/adam_update.cc"
      ],
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
