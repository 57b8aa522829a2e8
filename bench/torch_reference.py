"""PyTorch reference for `npm run bench:train`: the same backbones, loss and optimiser as bench/train-worker.ts.

Layer shapes follow plugins/backbone/{tiny,facenet-small,resnet18}.ts exactly (the trainable parameter count
is printed so the TypeScript side can check it); layout is PyTorch's default NCHW. Prints one JSON line.
Benchmark only: PyTorch is not a dependency of mtlzoo.
"""

import argparse
import json
import resource
import statistics
import time

import torch
from torch import nn
import torch.nn.functional as F


def conv_bn(cin, cout, k, stride, padding, eps, momentum, relu=True, scale=True):
    bn = nn.BatchNorm2d(cout, eps=eps, momentum=momentum)
    if not scale:
        # TF-slim's batch_norm without gamma (facenet-small): keep gamma at 1, untrained.
        bn.weight.requires_grad_(False)
    layers = [nn.Conv2d(cin, cout, k, stride, padding, bias=False), bn]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class FacenetBlock(nn.Module):
    def __init__(self, cin, c):
        super().__init__()
        bn = dict(eps=1e-3, momentum=0.005, scale=False)
        self.reduce = conv_bn(cin, c, 3, 1, 0, **bn)
        self.conv_a = conv_bn(c, c, 3, 1, 1, **bn)
        self.conv_b = conv_bn(c, c, 3, 1, 1, **bn)

    def forward(self, x):
        pooled = F.max_pool2d(self.reduce(x), 2, 2)
        return self.conv_b(self.conv_a(pooled)) + pooled


class FacenetSmall(nn.Module):
    def __init__(self, input_size, embedding_dim):
        super().__init__()
        self.stem = conv_bn(3, 32, 3, 1, 0, eps=1e-3, momentum=0.005, scale=False)
        channels = [64, 128, 128, 128]
        self.blocks = nn.Sequential(*[FacenetBlock(32 if i == 0 else channels[i - 1], c) for i, c in enumerate(channels)])
        side = input_size - 2
        for _ in channels:
            side = (side - 2) // 2
        self.fc = nn.Linear(side * side * channels[-1], embedding_dim, bias=False)
        self.bn = nn.BatchNorm1d(embedding_dim, eps=1e-3, momentum=0.005)
        self.bn.weight.requires_grad_(False)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return F.relu(self.bn(self.fc(torch.flatten(x, 1))))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        bn = dict(eps=1e-5, momentum=0.1)
        self.conv1 = conv_bn(cin, cout, 3, stride, 1, **bn)
        self.conv2 = conv_bn(cout, cout, 3, 1, 1, relu=False, **bn)
        self.downsample = conv_bn(cin, cout, 1, stride, 0, relu=False, **bn) if stride != 1 or cin != cout else None

    def forward(self, x):
        shortcut = self.downsample(x) if self.downsample is not None else x
        return F.relu(self.conv2(self.conv1(x)) + shortcut)


class Resnet18(nn.Module):
    def __init__(self, embedding_dim, depth="layer4"):
        super().__init__()
        self.stem = conv_bn(3, 64, 7, 2, 3, eps=1e-5, momentum=0.1)
        layers, cin = [], 64
        for name, c, stride in [("layer1", 64, 1), ("layer2", 128, 2), ("layer3", 256, 2), ("layer4", 512, 2)]:
            layers += [BasicBlock(cin, c, stride), BasicBlock(c, c, 1)]
            cin = c
            if name == depth:
                break
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, embedding_dim)

    def forward(self, x):
        x = self.layers(F.max_pool2d(self.stem(x), 3, 2, 1))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Tiny(nn.Module):
    def __init__(self, input_size, channels, embedding_dim):
        super().__init__()
        self.stages = nn.Sequential(
            *[
                nn.Sequential(conv_bn(3 if i == 0 else channels[i - 1], c, 3, 1, 1, eps=1e-5, momentum=0.1), nn.MaxPool2d(2, 2))
                for i, c in enumerate(channels)
            ]
        )
        side = input_size >> len(channels)
        self.fc = nn.Linear(side * side * channels[-1], embedding_dim)

    def forward(self, x):
        return self.fc(torch.flatten(self.stages(x), 1))


def build(name, input_size, embedding_dim):
    if name == "facenet-small":
        return FacenetSmall(input_size, embedding_dim)
    if name == "resnet18":
        return Resnet18(embedding_dim)
    if name == "tiny":
        return Tiny(input_size, [8, 16, 32], embedding_dim)
    raise SystemExit(f"unknown backbone {name}")


def triplet_loss(embeddings, margin=0.2):
    """Squared L2 between L2-normalised embeddings; the batch is anchors, positives, negatives in thirds."""
    e = F.normalize(embeddings, dim=1)
    a, p, n = torch.chunk(e[: 3 * (len(e) // 3)], 3)
    return F.relu((a - p).pow(2).sum(1) - (a - n).pow(2).sum(1) + margin).mean()


def timed(fn, warmup, steps):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--input", type=int, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--embedding-dim", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    # cuda: the reference for engines that run on a GPU; `.item()` in each step waits for the device.
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build(args.backbone, args.input, args.embedding_dim).to(args.device)
    images = torch.randn(args.batch, 3, args.input, args.input).to(args.device)
    optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)

    def train_step():
        optimiser.zero_grad(set_to_none=True)
        loss = triplet_loss(model(images))
        loss.backward()
        optimiser.step()
        return loss.item()

    def embed():
        with torch.no_grad():
            return model(images).sum().item()

    model.train()
    train_s = timed(train_step, args.warmup, args.steps)
    model.eval()
    embed_s = timed(embed, args.warmup, args.steps)
    print(
        json.dumps(
            {
                "torchVersion": torch.__version__,
                "device": torch.cuda.get_device_name() if args.device == "cuda" else "cpu",
                "threads": torch.get_num_threads(),
                "trainableParams": sum(p.numel() for p in model.parameters() if p.requires_grad),
                "trainStepMs": train_s * 1e3,
                "imagesPerSecond": args.batch / train_s,
                "embedMs": embed_s * 1e3,
                "embedImagesPerSecond": args.batch / embed_s,
                # Peak resident memory of the whole process (Linux reports KiB).
                "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
