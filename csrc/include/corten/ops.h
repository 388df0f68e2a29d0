#pragma once
/// Every tensor op, one entry point each. Entry points check their arguments and throw
/// ValueError / TypeError / IndexError / MemoryError naming the op and the shapes involved,
/// infer the output shape (the same code serves meta tensors, which carry no data), and run the
/// device kernel. Results are new contiguous tensors unless the op is documented as a view.

#include <corten/ops/attention.h>
#include <corten/ops/conv.h>
#include <corten/ops/creation.h>
#include <corten/ops/elementwise.h>
#include <corten/ops/hashing.h>
#include <corten/ops/image.h>
#include <corten/ops/linalg.h>
#include <corten/ops/losses.h>
#include <corten/ops/nn.h>
#include <corten/ops/optimizers.h>
#include <corten/ops/pooling.h>
#include <corten/ops/random.h>
#include <corten/ops/reduce.h>
#include <corten/ops/rnn.h>
#include <corten/ops/shape_ops.h>
#include <corten/ops/strings.h>
