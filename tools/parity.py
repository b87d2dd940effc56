"""Reference outputs for the C++ model pieces, computed with PyTorch (run with a Python that has torch).

Builds small seeded inputs and weights, computes in float64 the hash fusion (BatchNorm in training mode),
the group-query decoder (torch.nn.MultiheadAttention, eval mode) and the PaCo / SupCon losses (written in
the PaCo repository's exp-and-mask form, independent of the C++ logsumexp form), and writes every input,
weight and output to tests/model/fixtures/parity/ as one text file per tensor:
    line 1: the number of dimensions, then the sizes     e.g. "2 4 16"   ("0" for a scalar)
    line 2: the values in row-major order, space separated
Weights are named after the C++ parameters (decoder.attention.q_proj.weight, ...), so the test loads them
by name. Usage: /usr/bin/python3 tools/parity.py [output folder]
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'tests', 'model',
                                                        'fixtures', 'parity')
B, N, L, D, HEADS, HIDDEN, MAX_QUERIES, EMBED, QUEUE = 4, 5, 16, 32, 4, 32, 3, 8, 6
CHANNELS = (6, 8, 10)  # C3, C4, C5
BETA_HASH = 1.5


def write(name, tensor):
    t = tensor.detach().to(torch.float64).contiguous()
    with open(os.path.join(OUT, name + '.txt'), 'w') as f:
        f.write(' '.join(str(s) for s in [t.dim()] + list(t.shape)) + '\n')
        exact32 = torch.equal(t.to(torch.float32).to(torch.float64), t)  # 9 digits round-trip a float32
        f.write(' '.join(f'{v:.9g}' if exact32 else f'{v:.17g}' for v in t.flatten().tolist()) + '\n')


def rand(*shape, scale=1.0):  # float32 values, so the C++ side reads exactly the same numbers
    return (torch.randn(*shape) * scale).to(torch.float32).to(torch.float64)


def fusion():
    c3, c4, c5 = rand(B, CHANNELS[0], 4, 4), rand(B, CHANNELS[1], 4, 4), rand(B, CHANNELS[2], 2, 2)
    w = {}
    for s, c in zip((3, 4, 5), CHANNELS):
        w[f'linear{s}.weight'], w[f'linear{s}.bias'] = rand(L, c, scale=0.3), rand(L, scale=0.1)
    for name in ('norm3', 'norm4', 'norm5', 'spatial_norm4', 'spatial_norm5'):
        w[f'{name}.weight'], w[f'{name}.bias'] = 1 + rand(L, scale=0.1), rand(L, scale=0.1)
    w['fuse.weight'], w['fuse.bias'] = rand(L, 3 * L, scale=0.2), rand(L, scale=0.1)

    def bn(x, name):  # BatchNorm1d in training mode: biased batch variance, eps 1e-5
        mean, var = x.mean(0), x.var(0, unbiased=False)
        return (x - mean) / torch.sqrt(var + 1e-5) * w[f'{name}.weight'] + w[f'{name}.bias']

    def code(x): return torch.tanh(BETA_HASH * x)

    h = [code(bn(F.linear(f.mean((2, 3)), w[f'linear{s}.weight'], w[f'linear{s}.bias']), f'norm{s}'))
         for s, f in zip((3, 4, 5), (c3, c4, c5))]                                  # 3 x [B,L]
    u = code(F.linear(torch.cat(h, 1), w['fuse.weight'], w['fuse.bias']))           # [B,L]
    spatial = []
    for s, f in ((4, c4), (5, c5)):
        pooled = F.adaptive_avg_pool2d(f, c5.shape[2:]).flatten(2).transpose(1, 2)   # [B,HW,C]
        pre = F.linear(pooled, w[f'linear{s}.weight'], w[f'linear{s}.bias'])        # [B,HW,L]
        spatial.append(code(bn(pre.reshape(-1, L), f'spatial_norm{s}')).reshape(B, -1, L))
    for name, t in w.items(): write('fusion.' + name, t)
    write('fusion.input.c3', c3); write('fusion.input.c4', c4); write('fusion.input.c5', c5)
    write('fusion.input.beta', torch.tensor(BETA_HASH, dtype=torch.float64))
    write('fusion.output.u', u)
    write('fusion.output.tokens', torch.stack(h + [u], 1))
    write('fusion.output.spatial', torch.cat(spatial, 1))


def decoder():
    tokens = rand(B, 7, L)
    embed = nn.Linear(L, D).double()
    attention = nn.MultiheadAttention(D, HEADS, batch_first=True).double()
    with torch.no_grad():
        attention.in_proj_bias.normal_(0, 0.1); attention.out_proj.bias.normal_(0, 0.1)
    norm1, norm2 = nn.LayerNorm(D).double(), nn.LayerNorm(D).double()
    ffn_in, ffn_out = nn.Linear(D, HIDDEN).double(), nn.Linear(HIDDEN, D).double()
    queries_count = min(N, MAX_QUERIES); group = -(-N // queries_count)
    queries, group_weight, group_bias = rand(queries_count, D), rand(queries_count, D, group, scale=0.2), rand(N, scale=0.1)
    modules = [embed, attention, norm1, norm2, ffn_in, ffn_out]
    with torch.no_grad():
        for m in modules:
            for p in m.parameters(): p.copy_(p.to(torch.float32).to(torch.float64))  # float32-exact weights
        for m in (norm1, norm2):
            m.weight.normal_(1, 0.1); m.bias.normal_(0, 0.1)
            m.weight.copy_(m.weight.to(torch.float32).to(torch.float64)); m.bias.copy_(m.bias.to(torch.float32).to(torch.float64))
    for m in modules: m.eval()
    with torch.no_grad():
        memory = F.relu(embed(tokens))                                               # [B,T,D]
        q = queries.expand(B, -1, -1)                                                # [B,K,D]
        q1 = norm1(q + attention(q, memory, memory, need_weights=False)[0])         # [B,K,D]
        q2 = norm2(q1 + ffn_out(F.relu(ffn_in(q1))))                                 # [B,K,D]
        logits = torch.einsum('bkd,kdg->bkg', q2, group_weight).flatten(1)[:, :N] + group_bias  # [B,N]
    p = 'decoder.'
    write(p + 'embed.weight', embed.weight); write(p + 'embed.bias', embed.bias)
    write(p + 'queries', queries)
    for i, name in enumerate(('q_proj', 'k_proj', 'v_proj')):
        write(p + f'attention.{name}.weight', attention.in_proj_weight[i * D:(i + 1) * D])
        write(p + f'attention.{name}.bias', attention.in_proj_bias[i * D:(i + 1) * D])
    write(p + 'attention.out_proj.weight', attention.out_proj.weight)
    write(p + 'attention.out_proj.bias', attention.out_proj.bias)
    for name, m in (('norm1', norm1), ('norm2', norm2), ('ffn_in', ffn_in), ('ffn_out', ffn_out)):
        write(p + name + '.weight', m.weight); write(p + name + '.bias', m.bias)
    write(p + 'group_weight', group_weight); write(p + 'group_bias', group_bias)
    write(p + 'input.tokens', tokens)
    write(p + 'output.query_features', q2)
    write(p + 'output.logits', logits)


def paco_reference(e, k, y, z, queue, queue_labels, log_prior, tau, alpha, beta, gamma, fixed_total, alpha_total):
    feats, labels = torch.cat([e, k, queue]), torch.cat([y, y, queue_labels])      # [M,d], [M]
    sample = e @ feats.T / tau                                                       # [B,M]
    logits_mask = (labels >= 0).double()[None, :].repeat(B, 1)                       # [B,M]
    logits_mask[torch.arange(B), torch.arange(B)] = 0
    mask = (y[:, None] == labels[None, :]).double() * logits_mask                   # [B,M]
    sample_w = alpha_total * mask / mask.sum(1, keepdim=True) if fixed_total else alpha * mask
    logits = torch.cat([z + log_prior, sample], 1)                                   # [B,N+M]
    logits = logits - logits.max(1, keepdim=True).values
    exp_logits = torch.exp(logits) * torch.cat([torch.ones(B, N, dtype=torch.float64), gamma * logits_mask], 1)
    log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True))
    w = torch.cat([beta * F.one_hot(y, N).double(), sample_w], 1)                   # [B,N+M]
    return (-(w * log_prob).sum(1) / w.sum(1)).mean()


def supcon_reference(e, k, y, queue, queue_labels, tau):
    feats, labels = torch.cat([e, k, queue]), torch.cat([y, y, queue_labels])
    sample = e @ feats.T / tau
    valid = (labels >= 0)[None, :].repeat(B, 1); valid[torch.arange(B), torch.arange(B)] = False
    mask = (y[:, None] == labels[None, :]) & valid
    log_prob = sample - torch.logsumexp(sample.masked_fill(~valid, float('-inf')), 1, keepdim=True)
    return (-(log_prob * mask).sum(1) / mask.sum(1)).mean()


def paco():
    e, k = F.normalize(rand(B, EMBED), dim=1), F.normalize(rand(B, EMBED), dim=1)
    e, k = e.to(torch.float32).double(), k.to(torch.float32).double()
    queue = F.normalize(rand(QUEUE, EMBED), dim=1).to(torch.float32).double()
    y = torch.tensor([0, 2, 2, 4]); queue_labels = torch.tensor([2, -1, 0, 3, -1, 2])
    z = rand(B, N, scale=2.0)
    prior = torch.tensor([0.4, 0.25, 0.15, 0.15, 0.05], dtype=torch.float64)
    log_prior = prior.log().to(torch.float32).double()
    for name, t in (('e', e), ('k', k), ('labels', y), ('z', z), ('queue', queue), ('queue_labels', queue_labels),
                    ('log_prior', log_prior)):
        write('paco.input.' + name, t)
    args = (e, k, y, z, queue, queue_labels, log_prior, 0.07)
    write('paco.output.per_sample', paco_reference(*args, 0.05, 1.0, 1.0, False, 0.0))
    write('paco.output.fixed_total', paco_reference(*args, 0.05, 1.0, 1.0, True, 1.0))
    write('paco.output.gamma_half', paco_reference(*args, 0.3, 0.7, 0.5, False, 0.0))
    write('paco.output.supcon', supcon_reference(e, k, y, queue, queue_labels, 0.07))


if __name__ == '__main__':
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    fusion(); decoder(); paco()
    print('wrote', len(os.listdir(OUT)), 'files to', os.path.normpath(OUT))
