using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>
/// One decode step (one new token per row over a KV cache) of a dense Llama-family model (llama, qwen2, qwen3, mistral)
/// in C#, straight on the tensors' memory: embedding, then per layer RMSNorm, fused Q/K/V, biases, q/k-norm, RoPE,
/// the cache write, attention over the cache, o-proj, RMSNorm, fused gate/up, SiLU, down, and the head — one libtorch
/// allocation a step (the logits) instead of hundreds of calls. Inference only, CPU, fp32 activations and KV cache;
/// weights fp32 (the model's own tensors, always current) or a bf16 copy (<see cref="DecodeWeights.BFloat16"/>, made
/// when asked and refreshed only by <see cref="Refresh"/>). DeepSeek-V3 (MLA, MoE), LoRA-attached models and reward
/// models stay on libtorch. Prefill (more than one new token) stays on libtorch's GEMM.
/// </summary>
internal sealed unsafe class FusedDecoder : IDisposable
{
    readonly LlamaBackbone _model;
    readonly ModelConfig _c;
    readonly Func<Tensor> _head;                // (V, C) the lm_head or the tied embedding
    readonly int _qkv, _inter;                  // (H + 2·Hkv)·D, I
    Tensor?[]? _weights;                        // every tensor the plan points into, to detect replaced parameters
    Plan? _plan;
    nint _bf16;                                 // the bf16 copy: one block for every projection and the head
    float* _buffer;
    long _bufferFloats;

    public FusedDecoder(LlamaBackbone model, ModelConfig config, Func<Tensor> head)
    {
        (_model, _c, _head) = (model, config, head);
        _qkv = (config.NumAttentionHeads + 2 * config.NumKeyValueHeads) * config.HeadDim;
        _inter = config.IntermediateSize;
    }

    /// <summary>Which instruction set the kernels use: the best the CPU has unless a test or benchmark pins one.</summary>
    public DecodeIsa Isa { get; set; } = DecodeKernels.Best;

    /// <summary>The weights streamed: the model's fp32 tensors, or the bf16 copy.</summary>
    public DecodeWeights Weights { get; private set; } = DecodeWeights.Float32;

    /// <summary>Steps computed so far.</summary>
    public long Steps { get; private set; }

    /// <summary>Whether the model's family is one this path computes.</summary>
    public static bool Covers(ModelConfig config) => !config.IsDeepSeekV3 && !config.SequenceClassification;

    /// <summary>Switches weight storage; a bf16 copy is (re)made from the current fp32 weights.</summary>
    public void Use(DecodeWeights weights)
    {
        lock (this)
        {
            Weights = weights;
            Invalidate();
            CurrentPlan(); // the bf16 copy is made now, not inside the first timed step
        }
    }

    /// <summary>Re-reads the weights (call after changing them in place when a bf16 copy is in use).</summary>
    public void Refresh()
    {
        lock (this) Invalidate();
    }

    /// <summary>Whether <see cref="Step"/> computes this call; otherwise the caller runs libtorch's path.</summary>
    public bool Applies(Tensor ids, KvCache? cache) =>
        cache is not null && ids.shape.Length == 2 && ids.shape[1] == 1 && !is_grad_enabled()
        && ids.device_type == TorchSharp.DeviceType.CPU && ids.dtype == ScalarType.Int64
        && _head().dtype == ScalarType.Float32 && _head().device_type == TorchSharp.DeviceType.CPU
        && cache.Buffers(0).Keys.dtype == ScalarType.Float32 && cache.Batch == ids.shape[0];

    /// <summary>Logits (B, V) for one new token per row; writes its keys and values into the cache and advances it.</summary>
    /// <param name="ids">(B, 1) int64</param>
    /// <param name="positions">(B, 1) rotary positions, or null: counted from the mask's real slots, else the cache length</param>
    /// <param name="mask">(B, cached + 1) 1 = real slot, or null: every slot real</param>
    public Tensor Step(Tensor ids, Tensor? positions, Tensor? mask, KvCache cache)
    {
        lock (this)
        {
            int m = (int)ids.shape[0], past = cache.Length, capacity = cache.Capacity, slots = past + 1;
            if (slots > capacity)
                throw new InvalidOperationException($"KV cache is full: {past} slots used + 1 new > capacity {capacity}. Create the cache with a larger capacity (prompt + max new tokens).");
            if (mask is not null && (mask.shape.Length != 2 || mask.shape[0] != m || mask.shape[1] != slots))
                throw new ArgumentException($"attention mask has shape [{string.Join(", ", mask.shape)}]; expected [{m}, {slots}] (batch, cached + new positions).", nameof(mask));
            var plan = CurrentPlan();
            int c = _c.HiddenSize, d = _c.HeadDim, heads = _c.NumAttentionHeads, kvHeads = _c.NumKeyValueHeads;
            int parts = SpinWorkers.Parts;
            Reserve((long)m * (3L * c + _qkv + heads * d + 3L * _inter + capacity) + (long)parts * capacity); // the same size every step
            float* x = _buffer, xn = x + (long)m * c, o = xn + (long)m * c, qkv = o + (long)m * c, att = qkv + (long)m * _qkv;
            float* gu = att + (long)m * heads * d, h = gu + 2L * m * _inter, masked = h + (long)m * _inter, scores = masked + (long)m * capacity;
            long[] pos = new long[m];
            Inputs(positions, mask, past, pos, masked);
            var (cosTable, sinTable) = _model.Rotary.Covering(pos.Max(), CPU);
            float* cos = Pointer(cosTable), sin = Pointer(sinTable);

            float* embed = Pointer(_model.EmbedTokens.Weight);
            long* idp = (long*)Pointer(ids.is_contiguous() ? ids : ids.contiguous());
            for (int r = 0; r < m; r++) Buffer.MemoryCopy(embed + idp[r] * c, x + (long)r * c, c * 4L, c * 4L);

            var isa = Isa;
            bool bf16 = Weights == DecodeWeights.BFloat16;
            float scale = 1f / MathF.Sqrt(d);
            for (int l = 0; l < plan.Layers.Length; l++)
            {
                var p = plan.Layers[l];
                var (keys, values) = cache.Buffers(l);
                float* kc = Pointer(keys), vc = Pointer(values);
                Norm(x, xn, p.InputNorm, m, c, (float)_c.RmsNormEps);
                p.Qkv.Run(isa, bf16, c, xn, m, qkv, _qkv, parts);
                ForRows(m, parts, r =>
                {
                    float* row = qkv + (long)r * _qkv;
                    if (p.QkvBias is not null) for (int j = 0; j < _qkv; j++) row[j] += p.QkvBias[j];
                    if (p.QNorm is not null)
                    {
                        for (int hh = 0; hh < heads; hh++) Norm(row + hh * d, row + hh * d, p.QNorm, 1, d, (float)_c.RmsNormEps);
                        for (int hh = 0; hh < kvHeads; hh++) Norm(row + (heads + hh) * d, row + (heads + hh) * d, p.KNorm!, 1, d, (float)_c.RmsNormEps);
                    }
                    for (int hh = 0; hh < heads + kvHeads; hh++) Rope(row + hh * d, d, cos + pos[r] * d, sin + pos[r] * d);
                    for (int hh = 0; hh < kvHeads; hh++)
                    {
                        long slot = (((long)r * kvHeads + hh) * capacity + past) * d;
                        Buffer.MemoryCopy(row + (heads + hh) * d, kc + slot, d * 4L, d * 4L);
                        Buffer.MemoryCopy(row + (heads + kvHeads + hh) * d, vc + slot, d * 4L, d * 4L);
                    }
                });
                int group = heads / kvHeads, pairs = m * heads;
                int chunk = (pairs + parts - 1) / parts;
                SpinWorkers.Run(Math.Min(parts, pairs), part =>
                {
                    float* s = scores + (long)part * capacity;
                    for (int pair = part * chunk; pair < Math.Min(pairs, (part + 1) * chunk); pair++)
                    {
                        int r = pair / heads, hh = pair % heads;
                        long cacheRow = ((long)r * kvHeads + hh / group) * capacity * d;
                        Attend(isa, qkv + (long)r * _qkv + hh * d, kc + cacheRow, vc + cacheRow, masked + (long)r * slots, slots, d, scale, s, att + ((long)r * heads + hh) * d);
                    }
                });
                p.O.Run(isa, bf16, heads * d, att, m, o, c, parts);
                AddRows(x, o, p.OBias, m, c);
                Norm(x, xn, p.PostNorm, m, c, (float)_c.RmsNormEps);
                p.GateUp.Run(isa, bf16, c, xn, m, gu, 2 * _inter, parts);
                ForRows(m, parts, r =>
                {
                    float* g = gu + 2L * r * _inter, u = g + _inter, hr = h + (long)r * _inter;
                    if (p.GateUpBias is not null) for (int j = 0; j < 2 * _inter; j++) g[j] += p.GateUpBias[j];
                    DecodeKernels.SiluMul(isa, g, u, hr, _inter);
                });
                p.Down.Run(isa, bf16, _inter, h, m, o, c, parts);
                AddRows(x, o, p.DownBias, m, c);
            }
            cache.Advance(1);
            Steps++;
            Norm(x, xn, plan.FinalNorm, m, c, (float)_c.RmsNormEps);
            var logits = empty(m, _c.VocabSize, ScalarType.Float32);
            plan.Head.Run(isa, false, c, xn, m, Pointer(logits), _c.VocabSize, parts); // the head stays fp32 (see Plan)
            return logits;
        }
    }

    // Host copies of the positions and of which slots each row may attend (the mask's real slots and the new one: 0, else
    // −∞), as LlamaBackbone derives them: without positions, a row's position is its real slots up to this one, minus one,
    // at least 0.
    static void Inputs(Tensor? positions, Tensor? mask, int past, long[] pos, float* masked)
    {
        int m = pos.Length, slots = past + 1;
        if (mask is null)
        {
            new Span<float>(masked, m * slots).Clear();
            Array.Fill(pos, (long)past);
        }
        else
        {
            using var contiguous = mask.to(ScalarType.Int64).contiguous();
            long* mk = (long*)Pointer(contiguous);
            for (int r = 0; r < m; r++)
            {
                long real = 0;
                for (int j = 0; j < slots; j++)
                {
                    bool on = mk[(long)r * slots + j] != 0;
                    real += on ? 1 : 0;
                    masked[(long)r * slots + j] = on || j == past ? 0 : float.NegativeInfinity; // a pad query may see itself (never read)
                }
                pos[r] = Math.Max(0, real - 1);
            }
        }
        if (positions is null) return;
        using var given = positions.to(ScalarType.Int64).contiguous();
        long* pp = (long*)Pointer(given);
        for (int r = 0; r < m; r++) pos[r] = pp[r];
    }

    // Rows split over the spin workers once there are enough of them to pay for the hand-off.
    static void ForRows(int m, int parts, Action<int> row)
    {
        if (m < 4 || parts < 2)
        {
            for (int r = 0; r < m; r++) row(r);
            return;
        }
        int chunk = (m + parts - 1) / parts;
        SpinWorkers.Run(parts, part =>
        {
            for (int r = part * chunk; r < Math.Min(m, (part + 1) * chunk); r++) row(r);
        });
    }

    // softmax(q·Kᵀ·scale over the unmasked slots)·V for one row and head: the scores as one few-row GEMM over the cached
    // keys (each slot a weight row), the weighted sum of the values with the output held in registers.
    internal static void Attend(DecodeIsa isa, float* q, float* k, float* v, float* masked, int slots, int d, float scale, float* s, float* y)
    {
        DecodeKernels.Gemm(isa, false, k, d, q, d, 1, s, slots, 0, slots);
        float max = DecodeKernels.ScaleMaskMax(isa, s, masked, slots, scale);
        float sum = DecodeKernels.ExpInPlace(isa, s, slots, max);
        DecodeKernels.WeightedSum(isa, s, v, slots, d, y, 1f / sum);
    }

    // Hugging Face LlamaRMSNorm: x·rsqrt(mean(x²) + eps), then the weight.
    static void Norm(float* x, float* y, float* weight, int m, int c, float eps)
    {
        for (int r = 0; r < m; r++)
        {
            float* xr = x + (long)r * c, yr = y + (long)r * c;
            double squares = 0;
            for (int i = 0; i < c; i++) squares += xr[i] * xr[i];
            float inverse = 1f / MathF.Sqrt((float)(squares / c) + eps);
            for (int i = 0; i < c; i++) yr[i] = weight[i] * (xr[i] * inverse);
        }
    }

    // x·cos + rotate_half(x)·sin, with the signed sine table of RotaryEmbedding (first half negated).
    static void Rope(float* x, int d, float* cos, float* signedSin)
    {
        int half = d / 2;
        for (int i = 0; i < half; i++)
        {
            float a = x[i], b = x[i + half];
            x[i] = a * cos[i] + b * signedSin[i];
            x[i + half] = b * cos[i + half] + a * signedSin[i + half];
        }
    }

    static void AddRows(float* x, float* o, float* bias, int m, int c)
    {
        for (int r = 0; r < m; r++)
        {
            float* xr = x + (long)r * c, or = o + (long)r * c;
            if (bias is null) for (int i = 0; i < c; i++) xr[i] += or[i];
            else for (int i = 0; i < c; i++) xr[i] += or[i] + bias[i];
        }
    }

    void Reserve(long floats)
    {
        if (floats <= _bufferFloats) return;
        if (_buffer is not null) NativeMemory.AlignedFree(_buffer);
        _buffer = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
        _bufferFloats = floats;
    }

    static float* Pointer(Tensor t) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));

    // ---- The plan: where every weight lives, rebuilt when a parameter object is replaced (e.g. Module.to) or on request.

    sealed class Plan(LayerPlan[] layers, float* finalNorm, Projection head)
    {
        public readonly LayerPlan[] Layers = layers;
        public readonly float* FinalNorm = finalNorm;
        public readonly Projection Head = head;
    }

    sealed class LayerPlan(float* inputNorm, Projection qkv, float* qkvBias, float* qNorm, float* kNorm, Projection o, float* oBias,
        float* postNorm, Projection gateUp, float* gateUpBias, Projection down, float* downBias)
    {
        public readonly float* InputNorm = inputNorm, QkvBias = qkvBias, QNorm = qNorm, KNorm = kNorm, OBias = oBias, PostNorm = postNorm, GateUpBias = gateUpBias, DownBias = downBias;
        public readonly Projection Qkv = qkv, O = o, GateUp = gateUp, Down = down;
    }

    Plan CurrentPlan()
    {
        if (_plan is not null && Unchanged()) return _plan;
        Invalidate();
        _weights = [.. Tensors()];
        bool bf16 = Weights == DecodeWeights.BFloat16;
        if (bf16) _bf16 = (nint)NativeMemory.AlignedAlloc((nuint)_model.Decoder.SelectMany(Linears).Sum(l => l.weight!.numel() * 2), 64);
        long cursor = 0;
        nint Block(Tensor w)
        {
            if (!bf16) return (nint)Pointer(w);
            var source = new ReadOnlySpan<float>(Pointer(w), checked((int)w.numel()));
            var start = (byte*)_bf16 + cursor;
            var target = new Span<ushort>(start, source.Length);
            for (int i = 0; i < source.Length; i++) target[i] = DecodeKernels.ToBf16(source[i]);
            cursor += source.Length * 2L;
            return (nint)start;
        }
        Projection Stack(params Linear[] layers) => new(layers.Select(l => Block(l.weight!)).ToArray(), layers.Select(l => (int)l.weight!.shape[0]).ToArray());
        float* Bias(params Linear[] layers)
        {
            if (layers.All(l => l.bias is null)) return null;
            // Biases are concatenated once per plan into pinned memory the plan owns.
            var all = layers.SelectMany(l => l.bias is { } b ? new ReadOnlySpan<float>(Pointer(b), (int)b.numel()).ToArray() : new float[l.weight!.shape[0]]).ToArray();
            var pinned = GC.AllocateArray<float>(all.Length, pinned: true);
            all.CopyTo(pinned, 0);
            _pinned.Add(pinned);
            return (float*)Unsafe.AsPointer(ref pinned[0]);
        }
        var layers = _model.Decoder.Select(layer =>
        {
            var (q, k, v, o, qNorm, kNorm) = ((LlamaAttention)layer.SelfAttention).Parts;
            var (gate, up, down) = ((LlamaMlp)layer.FeedForward).Parts;
            return new LayerPlan(Pointer(layer.InputNorm.Weight), Stack(q, k, v), Bias(q, k, v), qNorm is null ? null : Pointer(qNorm.Weight),
                kNorm is null ? null : Pointer(kNorm.Weight), Stack(o), Bias(o), Pointer(layer.PostAttentionNorm.Weight), Stack(gate, up), Bias(gate, up), Stack(down), Bias(down));
        }).ToArray();
        // The head is read in fp32 even with a bf16 copy: the logits' last rounding is the one greedy ties are decided by
        // (bf16 everywhere: 196/200 identical greedy completions on the demo's held-out problems; dev/log/decode.md).
        var head = _head();
        var headProjection = new Projection([(nint)Pointer(head)], [(int)head.shape[0]]);
        return _plan = new Plan(layers, Pointer(_model.Norm.Weight), headProjection);
    }

    readonly List<float[]> _pinned = [];

    static Linear[] Linears(LlamaDecoderLayer layer)
    {
        var (q, k, v, o, _, _) = ((LlamaAttention)layer.SelfAttention).Parts;
        var (gate, up, down) = ((LlamaMlp)layer.FeedForward).Parts;
        return [q, k, v, o, gate, up, down];
    }

    // Every tensor the plan points into, read from the modules' fields (a parameters() walk cost 0.09 ms a step).
    IEnumerable<Tensor?> Tensors()
    {
        foreach (var layer in _model.Decoder)
        {
            foreach (var linear in Linears(layer))
            {
                yield return linear.weight;
                yield return linear.bias;
            }
            var (_, _, _, _, qNorm, kNorm) = ((LlamaAttention)layer.SelfAttention).Parts;
            yield return qNorm?.Weight;
            yield return kNorm?.Weight;
            yield return layer.InputNorm.Weight;
            yield return layer.PostAttentionNorm.Weight;
        }
        yield return _head();
        yield return _model.Norm.Weight;
    }

    // Whether every tensor is still the one the plan was built from (a replaced parameter, e.g. by Module.to, is not).
    bool Unchanged()
    {
        int i = 0;
        foreach (var tensor in Tensors())
            if (i >= _weights!.Length || !ReferenceEquals(tensor, _weights[i++])) return false;
        return i == _weights!.Length;
    }

    void Invalidate()
    {
        _plan = null;
        _weights = null;
        _pinned.Clear();
        if (_bf16 != 0) NativeMemory.AlignedFree((void*)_bf16);
        _bf16 = 0;
    }

    public void Dispose()
    {
        lock (this)
        {
            Invalidate();
            if (_buffer is not null) NativeMemory.AlignedFree(_buffer);
            _buffer = null;
            _bufferFloats = 0;
        }
    }
}
