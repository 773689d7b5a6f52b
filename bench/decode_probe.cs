#:project ../src/Aha/Aha.csproj
#:property AllowUnsafeBlocks=true
// The measurements behind the README's explanation of the decode gaps, as one rerunnable program (not run in CI):
//
//     dotnet run -c Release bench/decode_probe.cs      (a Debug build leaves the kernel unoptimised)
//
// 1. Streaming 112 MB of projection weights (40 × 1376×512 fp32, more than the CPU caches hold) through libtorch's
//    `linear` and through Aha's few-row kernel (`DecodeKernels` via `Projection`), at 1–128 rows: GB/s of weights read
//    and GFLOP/s.
// 2. The 256 MB read `aha bench generate` uses as the bandwidth bound.
// 3. Attention at batch-64 decode: SDPA of one query over 192 cached positions (8 heads × 64), per layer.
// 4. Decode steps of the bench model (d 512, 8 layers) over 192 cached positions, with the engine's mask: at batch 1,
//    at batch 1 for the same model at d 64 (the same libtorch calls with almost no work: what the calls alone cost),
//    and at batch 64.
// 5. At batch 1 over 192 cached positions, the fused step's 33 projections alone (the same weights through `Projection`),
//    alternated with whole fused steps: what the rest of the step costs.
// 6. The attention of one batch-1 step (`FusedDecoder.Attend`, 8 layers × 8 heads over 192 slots), K and V in cache and
//    after streaming 128 MB past them.
// Prints a table and one JSON line last.
using System.Diagnostics;
using System.Text.Json.Nodes;
using Aha.Model;
using Aha.Runtime;
using Aha.Training;
using static TorchSharp.torch;

#if DEBUG
Console.Error.WriteLine("warning: Debug build; the kernel timings mean nothing. Run with -c Release.");
#endif
TorchRuntime.Initialize(0);
using var inference = inference_mode();
var rows = new List<(string Name, string Value)>();
var json = new JsonObject { ["bench"] = "decode_probe", ["threads"] = get_num_threads() };

// Best of several repeats: on a shared machine the mean measures the neighbours.
static double BestSeconds(int repeats, Action action)
{
    action();
    double best = double.MaxValue;
    for (int i = 0; i < repeats; i++)
    {
        var clock = Stopwatch.StartNew();
        action();
        best = Math.Min(best, clock.Elapsed.TotalSeconds);
    }
    return best;
}

// A tensor's data, for the kernels.
static unsafe nint Address(Tensor t) => (nint)System.Runtime.CompilerServices.Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(t.bytes));

var weights = Enumerable.Range(0, 40).Select(_ => randn(1376, 512)).ToArray();
double weightBytes = weights.Length * 1376.0 * 512 * sizeof(float);
// The kernel beyond SkinnyLinear's 8 rows too (prefill sizes), called as the fused path calls it.
unsafe
{
    var projections = weights.Select(w => new Projection([Address(w)], [1376])).ToArray();
    foreach (int m in new[] { 1, 2, 4, 8, 16, 64, 128 })
    {
        var x = randn(m, 512);
        var y = empty(m, 1376);
        float* px = (float*)Address(x), py = (float*)Address(y);
        double torchSeconds = BestSeconds(10, () => { using var s = NewDisposeScope(); foreach (var w in weights) nn.functional.linear(x, w); });
        double kernelSeconds = BestSeconds(10, () => { foreach (var p in projections) p.Run(DecodeKernels.Best, false, 512, px, m, py, 1376, get_num_threads()); });
        double flops = 2.0 * m * weightBytes / sizeof(float);
        rows.Add(($"projections, {m} row{(m == 1 ? "" : "s")}: libtorch / Aha kernel",
            $"{weightBytes / torchSeconds / 1e9:F1} / {weightBytes / kernelSeconds / 1e9:F1} GB/s, {flops / torchSeconds / 1e9:F0} / {flops / kernelSeconds / 1e9:F0} GFLOP/s"));
        json[$"libtorch_gb_per_s_m{m}"] = Math.Round(weightBytes / torchSeconds / 1e9, 2);
        json[$"kernel_gb_per_s_m{m}"] = Math.Round(weightBytes / kernelSeconds / 1e9, 2);
        json[$"libtorch_gflops_m{m}"] = Math.Round(flops / torchSeconds / 1e9, 1);
        json[$"kernel_gflops_m{m}"] = Math.Round(flops / kernelSeconds / 1e9, 1);
    }
}

double bandwidth = MemoryBandwidth.Measure();
rows.Add(("256 MB read (bench generate's bound)", $"{bandwidth / 1e9:F1} GB/s"));
json["memory_bandwidth_bytes_per_second"] = Math.Round(bandwidth);

var cache = randn(64, 8, 320, 64);
var keys = cache.narrow(2, 0, 192);
var query = randn(64, 8, 1, 64);
double attention = BestSeconds(20, () => { using var s = NewDisposeScope(); nn.functional.scaled_dot_product_attention(query, keys, keys); });
double kvBytes = 2.0 * keys.numel() * sizeof(float);
rows.Add(("attention, batch 64 × 192 positions, one layer", $"{attention * 1e3:F2} ms ({kvBytes / attention / 1e9:F1} GB/s of K and V)"));
json["attention_ms_b64_t192"] = Math.Round(attention * 1e3, 3);

var bench = ModelPresets.Get("base", 320);
foreach (var (name, config, batch) in new[]
{
    ("batch 1, d 512", bench, 1), ("batch 1, d 64, same calls", bench with { HiddenSize = 64, IntermediateSize = 172 }, 1),
    ("batch 64, d 512", bench, 64),
})
{
    manual_seed(0);
    using var model = new LlamaModel(config);
    using var kv = model.NewCache(batch, 320);
    var ids = randint(0, 256, [batch, 1]);
    var mask = ones(batch, 320, dtype: int64); // as the engine passes it: every slot real
    int steps = batch == 1 ? 200 : 20;
    double seconds = 0;
    for (int i = 0; i < steps; i++)
    {
        using var s = NewDisposeScope();
        if (kv.Length + 1 > kv.Capacity || kv.Length == 0)
        {
            kv.Reset();
            model.LastLogits(randint(0, 256, [batch, 192]), cache: kv); // 192 positions cached, as mid-way through bench generate
        }
        var clock = Stopwatch.StartNew();
        var positions = full(batch, 1, (long)kv.Length, dtype: int64);
        model.LastLogits(ids, positions, mask.narrow(1, 0, kv.Length + 1), kv);
        seconds += clock.Elapsed.TotalSeconds;
    }
    double ms = seconds * 1e3 / steps;
    rows.Add(($"decode step, {name}", $"{ms:F2} ms"));
    json[$"decode_step_ms_{name.Replace(", same calls", "").Replace(", ", "_").Replace(" ", "")}"] = Math.Round(ms, 3);
}

unsafe
{
    static double Median(List<double> t) { t.Sort(); return t[t.Count / 2]; }
    manual_seed(0);
    using var model = new LlamaModel(bench);
    var p = model.named_parameters().ToDictionary(x => x.name, x => x.parameter);
    Projection Stack(params string[] names) => new([.. names.Select(n => Address(p[n + ".weight"]))], [.. names.Select(n => (int)p[n + ".weight"].shape[0])]);
    var gemms = Enumerable.Range(0, bench.NumHiddenLayers).SelectMany(l =>
    {
        string a = $"model.layers.{l}.self_attn.", m = $"model.layers.{l}.mlp.";
        return new[] { (Stack(a + "q_proj", a + "k_proj", a + "v_proj"), bench.HiddenSize), (Stack(a + "o_proj"), bench.HiddenSize),
            (Stack(m + "gate_proj", m + "up_proj"), bench.HiddenSize), (Stack(m + "down_proj"), bench.IntermediateSize) };
    }).Append((Stack(p.ContainsKey("lm_head.weight") ? "lm_head" : "model.embed_tokens"), bench.HiddenSize)).ToList();
    var x = randn(1, bench.IntermediateSize);
    var y = empty(1, 4 * bench.IntermediateSize);
    float* px = (float*)Address(x), py = (float*)Address(y);
    using var kv = model.NewCache(1, 320);
    var ids = randint(0, 256, [1, 1]);
    var mask = ones(1, 320, dtype: int64);
    var stepMs = new List<double>();
    var aloneMs = new List<double>();
    for (int i = 0; i < 256; i++)
    {
        using var s = NewDisposeScope();
        if (kv.Length + 1 > kv.Capacity || kv.Length == 0)
        {
            kv.Reset();
            model.LastLogits(randint(0, 256, [1, 192]), cache: kv);
        }
        var clock = Stopwatch.StartNew();
        model.LastLogits(ids, full(1, 1, (long)kv.Length, dtype: int64), mask.narrow(1, 0, kv.Length + 1), kv);
        stepMs.Add(clock.Elapsed.TotalMilliseconds);
        clock.Restart();
        foreach (var (g, k) in gemms) g.Run(DecodeKernels.Best, false, k, px, 1, py, 0, SpinWorkers.Parts);
        aloneMs.Add(clock.Elapsed.TotalMilliseconds);
    }
    double step = Median(stepMs), alone = Median(aloneMs);
    rows.Add(("batch-1 fused step / its projections alone", $"{step:F2} / {alone:F2} ms (medians of 256, alternated; the rest of the step {step - alone:F2} ms)"));
    json["fused_step_ms_b1"] = Math.Round(step, 3);
    json["projections_alone_ms_b1"] = Math.Round(alone, 3);

    // One batch-1 step's attention: 8 layers × 8 heads, each over its own 192 cached keys and values.
    int d = bench.HeadDim, heads = bench.NumAttentionHeads, layers = bench.NumHiddenLayers, slots = 192, parts = SpinWorkers.Parts;
    var kvs = randn([layers, 2, heads, 320, d]) * 0.1;
    var queries = randn(heads, d);
    var scores = empty(parts, 320);
    var outputs = empty(heads, d);
    var unmasked = zeros(slots);
    var junk = ones(32L << 20);
    float* pk = (float*)Address(kvs), pq = (float*)Address(queries), ps = (float*)Address(scores), po = (float*)Address(outputs), pm = (float*)Address(unmasked);
    void Attention()
    {
        for (int l = 0; l < layers; l++)
        {
            float* keys = pk + (long)l * 2 * heads * 320 * d, values = keys + (long)heads * 320 * d;
            SpinWorkers.Run(parts, part =>
            {
                for (int h = part; h < heads; h += parts)
                    FusedDecoder.Attend(DecodeKernels.Best, pq + h * d, keys + (long)h * 320 * d, values + (long)h * 320 * d, pm, slots, d, 1f / MathF.Sqrt(d), ps + part * 320, po + h * d);
            });
        }
    }
    var hot = new List<double>();
    var cold = new List<double>();
    for (int i = 0; i < 50; i++)
    {
        Attention();
        var clock = Stopwatch.StartNew();
        Attention();
        hot.Add(clock.Elapsed.TotalMilliseconds);
        junk.sum().item<float>(); // streams 128 MB past the cache
        clock.Restart();
        Attention();
        cold.Add(clock.Elapsed.TotalMilliseconds);
    }
    rows.Add(("attention of a batch-1 step, 192 slots: K/V in cache / cold", $"{Median(hot):F3} / {Median(cold):F3} ms ({2.0 * layers * heads * slots * d * 4 / 1e6:F1} MB of K and V)"));
    json["attention_ms_b1_hot"] = Math.Round(Median(hot), 3);
    json["attention_ms_b1_cold"] = Math.Round(Median(cold), 3);
}

int width = rows.Max(r => r.Name.Length);
Console.WriteLine("decode probe");
foreach (var (name, value) in rows) Console.WriteLine($"  {name.PadRight(width)}  {value}");
Console.WriteLine(json.ToJsonString());
