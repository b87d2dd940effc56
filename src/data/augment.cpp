#include "data/augment.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>

#include "common/error.h"
#include "data/randaugment.h"
#include "data/view_cpu.h"
#include "data/view_params.h"
#include "data/warp_cpu.h"

namespace trashcl {
namespace {

namespace F = torch::nn::functional;

int64_t next_power_of_two(int64_t value) {
  int64_t power = 1;
  while (power < value) power *= 2;
  return power;
}

// Integer area-averaging factor applied before bilinear sampling, so that the bilinear step shrinks by less
// than 2x: beyond that it skips source pixels and aliases (fine textures turn into moire).
int downscale_factor(const ViewGeometry& geometry, int side) {
  const double shrink = std::sqrt(geometry.crop_width * geometry.crop_height) / side;
  return std::max(1, static_cast<int>(std::floor(shrink)));
}

// The images of one group as float [n,3,Hp,Wp] (0..255), area-averaged by `factor`, in a channels-last buffer
// (the uint8 pixels convert with contiguous rows, and grid_sample reads an output pixel's three channels
// together) whose extents are powers of two (see kPositionSteps). Only the pixels plus one zero row and
// column are written: the sampling grid is clamped to each image's pixel centres, so bilinear sampling reads
// nothing beyond them.
torch::Tensor source_buffer(const torch::Tensor& group, int factor) {
  torch::Tensor images = group;  // [n,H,W,3] uint8
  if (factor > 1) {
    images = torch::avg_pool2d(group.permute({0, 3, 1, 2}).to(torch::kFloat), {factor, factor})
                 .permute({0, 2, 3, 1});  // [n,H/f,W/f,3]
  }
  const int64_t count = images.size(0), height = images.size(1), width = images.size(2);
  auto buffer = torch::empty({count, next_power_of_two(height + 1), next_power_of_two(width + 1), 3},
                             group.options().dtype(torch::kFloat));  // [n,Hp,Wp,3]
  buffer.narrow(1, 0, height).narrow(2, 0, width).copy_(images);
  buffer.narrow(1, height, 1).narrow(2, 0, width + 1).zero_();
  buffer.narrow(2, width, 1).narrow(1, 0, height).zero_();
  return buffer.permute({0, 3, 1, 2});  // [n,3,Hp,Wp]
}

// Resamples the samples of one downscale group: [n,3,S,S], values 0..255.
//
// Each output pixel centre is mapped by its sample's affine to source pixel coordinates (pixel k covers
// [k, k+1)), in steps of 1/kPositionSteps pixel, and clamped to the image's pixel centres: outside the image
// a view repeats its edge pixels, and the batch's zero padding is never read. With the buffer's power-of-two
// extents, the scaling to grid_sample's normalised coordinates (align_corners=false) and its scaling back
// are exact.
torch::Tensor resample_group(const torch::Tensor& pixels, const std::vector<int64_t>& samples,
                             const std::vector<ViewParams>& params, const torch::Tensor& sizes, int factor,
                             int side) {
  const auto size = sizes.accessor<int64_t, 2>();
  const int64_t count = static_cast<int64_t>(samples.size());
  const double to_steps = kPositionSteps / factor;
  int64_t height = 0, width = 0;
  std::vector<float> table;  // per sample, (x, y) pairs: the affine's three columns, then the last pixel centres
  for (int64_t sample : samples) {
    height = std::max(height, size[sample][0]);
    width = std::max(width, size[sample][1]);
    const Affine& a = params[sample].geometry.affine;
    for (double coefficient : {a[0], a[3], a[1], a[4], a[2], a[5]}) table.push_back(static_cast<float>(coefficient * to_steps));
    table.push_back(static_cast<float>((size[sample][1] / factor - 0.5) * kPositionSteps));
    table.push_back(static_cast<float>((size[sample][0] / factor - 0.5) * kPositionSteps));
  }
  torch::Tensor group = pixels;  // [B,Hmax,Wmax,3]
  if (count < pixels.size(0)) group = select_samples(pixels, torch::tensor(samples).to(pixels.device()));  // [n,Hmax,Wmax,3]
  const torch::Tensor buffer = source_buffer(group.narrow(1, 0, height).narrow(2, 0, width), factor);  // [n,3,Hp,Wp]

  const auto coefficients = torch::tensor(table).view({count, 4, 2}).to(pixels.device());  // [n,4,2]
  const auto column = [&](int64_t index) { return coefficients.select(1, index).view({count, 1, 1, 2}); };  // [n,1,1,2]
  const auto centres = torch::arange(side, buffer.options()).mul_(2).add_(1).div_(side).sub_(1);  // [S]
  auto grid = column(0) * centres.view({1, 1, side, 1}) + column(1) * centres.view({1, side, 1, 1});  // [n,S,S,2]
  grid.add_(column(2)).round_().clamp_min_(kPositionSteps / 2);
  const auto to_normalised = torch::tensor({2 / (kPositionSteps * buffer.size(3)), 2 / (kPositionSteps * buffer.size(2))},
                                           buffer.options()).view({1, 1, 1, 2});  // [1,1,1,2], powers of two
  grid = torch::minimum(grid, column(3)).mul_(to_normalised).sub_(1);            // [n,S,S,2]
  const auto options = F::GridSampleFuncOptions().mode(torch::kBilinear).align_corners(false);
  return F::grid_sample(buffer, grid, options).contiguous();  // [n,3,S,S]; may follow the buffer's channels-last
}

// Geometry of every view: [B,3,S,S] in [0,1]. With native_cpu_warp (CPU pixels only) one warp_cpu pass.
// Otherwise tensor ops that run on any device: samples are grouped by downscale factor, so a batch costs one
// grid_sample per distinct factor (usually one or two), never one per sample.
torch::Tensor resample(const torch::Tensor& pixels, const torch::Tensor& sizes, const std::vector<ViewParams>& params,
                       int side, bool native_cpu_warp) {
  if (native_cpu_warp) {
    const auto size = sizes.accessor<int64_t, 2>();
    std::vector<WarpSample> samples;
    for (size_t i = 0; i < params.size(); ++i) {
      samples.push_back({params[i].geometry.affine, size[i][0], size[i][1], downscale_factor(params[i].geometry, side)});
    }
    return warp_cpu(pixels, samples, side);  // [B,3,S,S]
  }
  std::map<int, std::vector<int64_t>> groups;  // downscale factor -> samples
  for (size_t i = 0; i < params.size(); ++i) groups[downscale_factor(params[i].geometry, side)].push_back(i);
  if (groups.size() == 1) {
    const auto& [factor, samples] = *groups.begin();
    return resample_group(pixels, samples, params, sizes, factor, side).div_(255);  // [B,3,S,S]
  }
  auto views = torch::empty({pixels.size(0), 3, side, side}, pixels.options().dtype(torch::kFloat));  // [B,3,S,S]
  for (const auto& [factor, samples] : groups) {
    const auto index = torch::tensor(samples).to(pixels.device());  // [n]
    write_samples(views, index, resample_group(pixels, samples, params, sizes, factor, side));
  }
  return views.div_(255);
}

// Applies each sample's ColourMap and clamps to [0,1]. views: [B,3,S,S].
void apply_colour_maps(torch::Tensor& views, const std::vector<ViewParams>& params) {
  const bool any = std::any_of(params.begin(), params.end(), [](const ViewParams& p) { return !p.colour.is_identity(); });
  if (!any) return;
  const int64_t count = views.size(0);
  std::vector<float> table;
  for (const ViewParams& p : params) {
    table.insert(table.end(), p.colour.linear.begin(), p.colour.linear.end());
    table.insert(table.end(), p.colour.mean_weight.begin(), p.colour.mean_weight.end());
  }
  const auto maps = torch::tensor(table).view({count, 2, 3, 3}).to(views.device());  // [B,2,3,3]
  const auto pixels = views.view({count, 3, -1});                                    // [B,3,S*S]
  // Summed in double so the mean does not depend on how threads split the sum (it varies with B).
  const auto mean = pixels.sum({2}, /*keepdim=*/true, torch::kDouble).div(pixels.size(2)).to(torch::kFloat);  // [B,3,1]
  const auto offset = torch::bmm(maps.select(1, 1), mean);                          // [B,3,1]
  views = torch::baddbmm(offset, maps.select(1, 0), pixels).clamp_(0, 1).view_as(views);  // [B,3,S,S]
}


// Per-sample separable Gaussian blur of the samples that drew one: both passes are grouped convolutions with
// one kernel per (sample, channel) plane.
void apply_blur(torch::Tensor& views, const std::vector<ViewParams>& params, const AugmentConfig& config) {
  const int side = config.image_size, radius = blur_radius(config);
  std::vector<int64_t> samples;
  std::vector<float> taps;
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].blur_sigma <= 0) continue;
    samples.push_back(static_cast<int64_t>(i));
    const std::vector<float> kernel = blur_kernel(params[i].blur_sigma, radius);
    for (int channel = 0; channel < 3; ++channel) taps.insert(taps.end(), kernel.begin(), kernel.end());
  }
  if (samples.empty()) return;
  const int64_t planes = 3 * static_cast<int64_t>(samples.size()), width = 2 * radius + 1;
  const auto kernels = torch::tensor(taps).view({planes, 1, 1, width}).to(views.device());  // [n*3,1,1,K]
  apply_to_samples(views, samples, [&](const torch::Tensor& selected) {
    const auto padded = torch::reflection_pad2d(selected.reshape({1, planes, side, side}),
                                                {radius, radius, radius, radius});  // [1,n*3,S+2R,S+2R]
    const auto per_plane = F::Conv2dFuncOptions().groups(planes);
    const auto rows = F::conv2d(padded, kernels, per_plane);                                  // [1,n*3,S+2R,S]
    const auto both = F::conv2d(rows, kernels.view({planes, 1, width, 1}), per_plane);        // [1,n*3,S,S]
    return both.view_as(selected).clamp_(0, 1);                                      // [n,3,S,S]
  });
}

torch::Tensor channel_constants(const std::array<float, 3>& values, const torch::Device& device) {
  return torch::tensor({values[0], values[1], values[2]}).view({1, 3, 1, 1}).to(device);  // [1,3,1,1]
}

// The views' random parameters, after checking the config and the batch. sizes: the batch's sizes on the CPU.
std::vector<ViewParams> draw_batch_params(const ImageBatch& batch, ViewKind kind, const std::vector<uint64_t>& sample_seeds,
                                          const AugmentConfig& config, const torch::Tensor& sizes) {
  check_augment_config(config);
  const int64_t count = batch.pixels.defined() ? batch.pixels.size(0) : 0;
  if (count == 0 || batch.pixels.dim() != 4 || batch.pixels.size(3) != 3 || batch.pixels.scalar_type() != torch::kUInt8 ||
      sizes.size(0) != count || static_cast<int64_t>(sample_seeds.size()) != count) {
    throw std::invalid_argument("make_view: expects pack_images' uint8 [B,H,W,3] batch with sizes [B,2] and B seeds, got " +
                                std::to_string(sample_seeds.size()) + " seeds for " + std::to_string(count) + " images");
  }
  const auto size = sizes.accessor<int64_t, 2>();
  std::vector<ViewParams> params;
  for (int64_t i = 0; i < count; ++i) {
    params.push_back(draw_view_params(kind, sample_seeds[i], static_cast<int>(size[i][0]), static_cast<int>(size[i][1]), config));
  }
  return params;
}

// make_view on the CPU, for one or more view kinds: each sample's view is built start to end in its slot of
// the output (warp, colour map, RandAugment's pixel ops, blur, normalisation), so it stays in cache between
// the steps, and a sample's views are built one after the other while its pixels are in cache. The samples
// are shared out among the intra-op threads. (The tensor path instead makes a pass over the whole batch per
// op, through memory, with a fresh tensor for most of them.) params[k]: the views of kind k.
std::vector<torch::Tensor> build_views_cpu(const torch::Tensor& pixels, const torch::Tensor& sizes,
                                           const std::vector<std::vector<ViewParams>>& params, const AugmentConfig& config) {
  const int side = config.image_size, radius = blur_radius(config);
  const int64_t count = pixels.size(0), plane = static_cast<int64_t>(side) * side;
  const int64_t row_stride = pixels.size(2) * 3, image_bytes = pixels.size(1) * row_stride;
  const auto size = sizes.accessor<int64_t, 2>();
  std::vector<torch::Tensor> views;
  std::vector<float*> outputs;
  for (size_t kind = 0; kind < params.size(); ++kind) {
    views.push_back(recycled_empty({count, 3, side, side}, torch::kFloat));  // [B,3,S,S]
    outputs.push_back(views.back().data_ptr<float>());
  }
  const uint8_t* batch = pixels.data_ptr<uint8_t>();
  for_each_sample(count, [&](int64_t b) {
    for (size_t kind = 0; kind < params.size(); ++kind) {
      const ViewParams& sample = params[kind][b];
      float* view = outputs[kind] + b * 3 * plane;  // [3,S,S]
      const WarpSample warp{sample.geometry.affine, size[b][0], size[b][1], downscale_factor(sample.geometry, side)};
      warp_image(batch + b * image_bytes, row_stride, warp, side, view);
      if (!sample.colour.is_identity()) apply_colour_map_cpu(view, plane, sample.colour.linear, sample.colour.mean_weight);
      for (const RandAugmentChoice& choice : sample.randaugment) {
        apply_randaugment_pixel_op_cpu(view, side, side, choice, config.randaugment_magnitude);
      }
      if (sample.blur_sigma > 0) blur_cpu(view, side, blur_kernel(sample.blur_sigma, radius));
      normalise_cpu(view, plane, config.mean, config.std);
    }
  });
  return views;
}

}  // namespace

ImageBatch pack_images(const std::vector<const Image*>& images) {
  if (images.empty()) throw UserError("pack_images: no images given; a batch needs at least one image");
  int max_height = 0, max_width = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    const Image* image = images[i];
    if (image == nullptr || image->empty() ||
        image->pixels.size() != static_cast<size_t>(image->width) * image->height * 3) {
      throw UserError("pack_images: image " + std::to_string(i) +
                      " is empty or its pixel buffer does not match its size; skip images that failed to decode");
    }
    max_height = std::max(max_height, image->height);
    max_width = std::max(max_width, image->width);
  }
  const int64_t count = static_cast<int64_t>(images.size());
  // Allocated uninitialised (and recycled) and padded row by row, so every byte is written once.
  ImageBatch batch{recycled_empty({count, max_height, max_width, 3}, torch::kUInt8),  // [B,Hmax,Wmax,3]
                   torch::empty({count, 2}, torch::kLong)};                          // [B,2]
  uint8_t* destination = batch.pixels.data_ptr<uint8_t>();
  auto sizes = batch.sizes.accessor<int64_t, 2>();
  const size_t row_bytes = static_cast<size_t>(max_width) * 3, image_bytes = row_bytes * max_height;
  for (int64_t i = 0; i < count; ++i) {
    const Image& image = *images[i];
    uint8_t* image_start = destination + i * image_bytes;
    const size_t used_bytes = static_cast<size_t>(image.width) * 3;
    for (int y = 0; y < image.height; ++y) {
      std::memcpy(image_start + y * row_bytes, image.row(y), used_bytes);
      std::memset(image_start + y * row_bytes + used_bytes, 0, row_bytes - used_bytes);
    }
    std::memset(image_start + image.height * row_bytes, 0, (max_height - image.height) * row_bytes);
    sizes[i][0] = image.height;
    sizes[i][1] = image.width;
  }
  return batch;
}

ViewGeometry sample_geometry(ViewKind kind, uint64_t sample_seed, int height, int width, const AugmentConfig& config) {
  if (height <= 0 || width <= 0) {
    throw std::invalid_argument("sample_geometry: image size " + std::to_string(width) + "x" + std::to_string(height) +
                                " is empty");
  }
  return draw_view_params(kind, sample_seed, height, width, config).geometry;
}

torch::Tensor resample_views(const ImageBatch& batch, ViewKind kind, const std::vector<uint64_t>& sample_seeds,
                             const AugmentConfig& config, bool native_cpu_warp) {
  const torch::Tensor sizes = batch.sizes.to(torch::kCPU);  // [B,2]
  const std::vector<ViewParams> params = draw_batch_params(batch, kind, sample_seeds, config, sizes);
  const torch::Tensor pixels = batch.pixels.to(torch::kCPU).contiguous();      // [B,Hmax,Wmax,3] uint8
  return resample(pixels, sizes, params, config.image_size, native_cpu_warp);  // [B,3,S,S] in [0,1]
}

torch::Tensor make_view(const ImageBatch& batch, ViewKind kind, const std::vector<uint64_t>& sample_seeds,
                        const AugmentConfig& config, const torch::Device& device) {
  return make_view_on_path(batch, kind, sample_seeds, config, device, device.is_cpu());
}

torch::Tensor make_view_on_path(const ImageBatch& batch, ViewKind kind, const std::vector<uint64_t>& sample_seeds,
                                const AugmentConfig& config, const torch::Device& device, bool native_cpu) {
  const torch::Tensor sizes = batch.sizes.to(torch::kCPU);  // [B,2]
  const std::vector<ViewParams> params = draw_batch_params(batch, kind, sample_seeds, config, sizes);
  const torch::Tensor pixels = batch.pixels.to(device).contiguous();  // [B,Hmax,Wmax,3] uint8, one upload
  if (native_cpu && device.is_cpu()) return build_views_cpu(pixels, sizes, {params}, config)[0];  // [B,3,S,S]
  torch::Tensor views = resample(pixels, sizes, params, config.image_size, false);  // [B,3,S,S] in [0,1]
  if (kind != ViewKind::eval) apply_colour_maps(views, params);
  if (kind == ViewKind::anchor) {
    for (int slot = 0; slot < config.randaugment_ops; ++slot) {
      std::vector<RandAugmentChoice> choices;
      for (const ViewParams& p : params) choices.push_back(p.randaugment[slot]);
      apply_randaugment_pixel_ops(views, choices, config.randaugment_magnitude);
    }
  }
  if (kind == ViewKind::positive) apply_blur(views, params, config);
  return views.sub_(channel_constants(config.mean, device)).div_(channel_constants(config.std, device)).contiguous();
}

std::vector<torch::Tensor> make_views_cpu(const ImageBatch& batch, const std::vector<ViewKind>& kinds,
                                          const std::vector<uint64_t>& sample_seeds, const AugmentConfig& config) {
  const torch::Tensor sizes = batch.sizes.to(torch::kCPU);  // [B,2]
  std::vector<std::vector<ViewParams>> params;
  for (ViewKind kind : kinds) params.push_back(draw_batch_params(batch, kind, sample_seeds, config, sizes));
  const torch::Tensor pixels = batch.pixels.to(torch::kCPU).contiguous();  // [B,Hmax,Wmax,3] uint8
  return build_views_cpu(pixels, sizes, params, config);                   // per kind [B,3,S,S]
}

Image view_to_image(const torch::Tensor& view, const AugmentConfig& config) {
  if (view.dim() != 3 || view.size(0) != 3) {
    throw std::invalid_argument("view_to_image: expects one view [3,S,S], got " + c10::str(view.sizes()));
  }
  const torch::Device cpu(torch::kCPU);
  const auto levels = view.detach().to(cpu, torch::kFloat)
                          .mul(channel_constants(config.std, cpu)[0])
                          .add_(channel_constants(config.mean, cpu)[0])
                          .clamp_(0, 1)
                          .mul_(255)
                          .round_()
                          .to(torch::kUInt8)
                          .permute({1, 2, 0})
                          .contiguous();  // [S,S,3]
  Image image(static_cast<int>(levels.size(1)), static_cast<int>(levels.size(0)));
  std::memcpy(image.pixels.data(), levels.data_ptr<uint8_t>(), image.bytes());
  return image;
}

}  // namespace trashcl
