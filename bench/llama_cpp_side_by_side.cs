#:project ../src/Aha/Aha.csproj
#:package LLamaSharp
#:package LLamaSharp.Backend.Cpu
#:property PublishAot=false
// Aha's decode beside llama.cpp's on the same model, prompt and threads, alternated in one run (not run in CI):
//
//     dotnet run -c Release bench/llama_cpp_side_by_side.cs [-- --rounds 2 --batches 1,8,64]
//
// The model of `aha bench generate` (d 512, 8 layers, 25.6M parameters, random weights from seed 0) is exported with
// `GgufExport` to GGUF f32 and f16 and loaded by llama.cpp through LLamaSharp 0.30 (its AVX-512 CPU build where the CPU
// has it) in a child process (so that Aha's OMP_WAIT_POLICY=PASSIVE does not reach ggml's OpenMP barriers): 2 threads,
// one KV cache per sequence (kv_unified off), llama.cpp's defaults otherwise (f16 KV cache, flash attention auto). Each side decodes 256 greedy tokens after a 64-token prompt for batch 1, 8 and 64 (tokens/s = batch ×
// 256 / wall time including the prompt, as `aha bench generate` counts), in rounds that alternate Aha, llama.cpp f32 and
// llama.cpp f16; the best round of each counts, since on a shared machine the others measure the neighbours. A second
// table counts the decode steps alone (wall time minus the prompt's prefill and first token: 255 tokens a row). The memory
// bandwidth is measured in the same run (before and after, the better kept), so each side's batch-1 fraction of the
// bandwidth bound (weight bytes read per token ÷ bandwidth) is comparable. Prints a table and one JSON line last.
using System.Diagnostics;
using System.Runtime.Intrinsics.X86;
using System.Text.Json.Nodes;
using Aha.Export;
using Aha.Generation;
using Aha.Model;
using Aha.Runtime;
using Aha.Tokenizer;
using Aha.Training;
using LLama;
using LLama.Common;
using LLama.Native;
using static TorchSharp.torch;

#if DEBUG
Console.Error.WriteLine("warning: Debug build; run with -c Release.");
#endif
int rounds = 2;
var batches = new List<int> { 1, 8, 64 };
const int Threads = 2, PromptLength = 64, NewTokens = 256;
var level = Avx512F.IsSupported ? AvxLevel.Avx512 : Avx2.IsSupported ? AvxLevel.Avx2 : AvxLevel.None;
var random = new Random(0);
var prompts = Enumerable.Range(0, 128).Select(_ => Enumerable.Range(0, PromptLength).Select(_ => random.Next(0, 256)).ToArray()).ToList();
// llama.cpp runs in a child process of this program (`--llama FILE BATCH`): in this one, TorchRuntime sets
// OMP_WAIT_POLICY=PASSIVE before libtorch loads, and ggml's OpenMP build then sleeps in every `omp barrier` between graph
// nodes — hundreds a token. That cost llama.cpp three quarters of its batch-1 speed here (64 vs 253–275 tokens/s).
if (args.Length == 3 && args[0] == "--llama")
{
    NativeLibraryConfig.All.WithAvx(level).WithAutoFallback(false).WithCuda(false).WithVulkan(false).WithLogCallback((_, _) => { });
    NativeApi.llama_empty_call();
    var (seconds, promptSeconds, row) = LlamaDecode(args[1], prompts.Take(int.Parse(args[2])).ToList());
    var invariant = System.Globalization.CultureInfo.InvariantCulture;
    Console.WriteLine($"{seconds.ToString(invariant)} {promptSeconds.ToString(invariant)} {string.Join(',', row)}");
    return;
}
for (int i = 0; i + 1 < args.Length; i += 2)
{
    if (args[i] == "--rounds") rounds = int.Parse(args[i + 1]);
    else if (args[i] == "--batches") batches = [.. args[i + 1].Split(',').Select(int.Parse)];
    else throw new ArgumentException($"unknown option {args[i]}; use --rounds N, --batches 1,8,64 (at most 128)");
}

TorchRuntime.Initialize(Threads);

var config = ModelPresets.Get("base", PromptLength + NewTokens);
manual_seed(0);
using var model = new LlamaModel(config);
model.eval();
long parameters = model.parameters().Sum(p => p.numel());
long embedding = (long)config.VocabSize * config.HiddenSize;
long vectors = model.parameters().Where(p => p.dim() == 1).Sum(p => p.numel());
// Bytes streamed per decode step: every weight but the embedding (only the fed rows are read); f16 halves the matrices.
var weightBytes = new Dictionary<string, long>
{
    ["aha"] = (parameters - embedding) * 4,
    ["llama.cpp f32"] = (parameters - embedding) * 4,
    ["llama.cpp f16"] = (parameters - embedding - vectors) * 2 + vectors * 4,
};
string folder = Directory.CreateTempSubdirectory("aha-side-by-side-").FullName;
var files = new Dictionary<string, string>();
foreach (var (name, type) in new[] { ("llama.cpp f32", GgufTensorType.F32), ("llama.cpp f16", GgufTensorType.F16) })
{
    files[name] = Path.Combine(folder, $"bench-{type.ToString().ToLowerInvariant()}.gguf");
    GgufExport.Write(model, ByteTokenizer.Default, files[name], type, "aha-bench-generate");
}

var engine = new Engine(model);
var greedy = new SamplingOptions { Temperature = 0, MaxNewTokens = NewTokens };

double bandwidth = MemoryBandwidth.Measure();
var best = new Dictionary<(string Side, int Batch), double>();
var bestDecode = new Dictionary<(string Side, int Batch), double>(); // the decode steps alone: the prompt's prefill excluded
var firstRows = new Dictionary<string, int[]>();
engine.Generate([new GenerationRequest(prompts[0])], greedy with { MaxNewTokens = 4 }); // warm-up
for (int round = 0; round < rounds; round++)
    foreach (int b in batches)
    {
        engine.Profile = new DecodeProfile();
        var clock = Stopwatch.StartNew();
        var completions = engine.Generate(prompts.Take(b).Select(p => new GenerationRequest(p)).ToList(), greedy);
        Record("aha", b, clock.Elapsed.TotalSeconds, engine.Profile.PrefillSeconds);
        if (b == 1) firstRows["aha"] = [.. completions[0].TokenIds];
        foreach (var (side, file) in files)
        {
            var (seconds, promptSeconds, row) = LlamaChild(file, b);
            Record(side, b, seconds, promptSeconds);
            if (b == 1) firstRows[side] = row;
        }
    }
bandwidth = Math.Max(bandwidth, MemoryBandwidth.Measure());

// The first of the 256 tokens comes from the prompt's logits, so the decode steps alone make the other 255.
void Record(string side, int b, double seconds, double promptSeconds)
{
    double tokensPerSecond = (double)b * NewTokens / seconds, decodePerSecond = (double)b * (NewTokens - 1) / (seconds - promptSeconds);
    best[(side, b)] = Math.Max(best.GetValueOrDefault((side, b)), tokensPerSecond);
    bestDecode[(side, b)] = Math.Max(bestDecode.GetValueOrDefault((side, b)), decodePerSecond);
    Console.Error.WriteLine($"  {side,-14} batch {b,2}: {tokensPerSecond,8:N0} tokens/s, decode steps alone {decodePerSecond,8:N0}");
}

// One llama.cpp decode in a fresh process with llama.cpp's own OpenMP settings (OMP_WAIT_POLICY unset).
(double Seconds, double PromptSeconds, int[] FirstRow) LlamaChild(string file, int b)
{
    var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet") start.ArgumentList.Add(typeof(Program).Assembly.Location);
    foreach (var a in new[] { "--llama", file, b.ToString() }) start.ArgumentList.Add(a);
    start.Environment.Remove("OMP_WAIT_POLICY");
    using var child = Process.Start(start)!;
    string output = child.StandardOutput.ReadToEnd();
    child.WaitForExit();
    if (child.ExitCode != 0) throw new InvalidOperationException($"llama.cpp child (batch {b}) exited with {child.ExitCode}: {output}");
    var parts = output.Trim().Split(' ');
    var invariant = System.Globalization.CultureInfo.InvariantCulture;
    return (double.Parse(parts[0], invariant), double.Parse(parts[1], invariant), [.. parts[2].Split(',').Select(int.Parse)]);
}

// Prefill all prompts in one batch (one sequence each), then one token per sequence per step, argmax of the logits.
// Returns the whole time, the prompt's part of it (the first llama_decode and its argmax) and row 0's tokens.
(double Seconds, double PromptSeconds, int[] FirstRow) LlamaDecode(string file, IReadOnlyList<int[]> rows)
{
    int b = rows.Count;
    var parameters = new ModelParams(file)
    {
        ContextSize = (uint)(b * (PromptLength + NewTokens)), SeqMax = (uint)b, KVUnified = false,
        BatchSize = (uint)(b * PromptLength), Threads = Threads, BatchThreads = Threads, GpuLayerCount = 0,
    };
    using var weights = LLamaWeights.LoadFromFile(parameters);
    using var context = weights.CreateContext(parameters);
    var batch = new LLamaBatch();
    var next = new int[b];
    var first = new int[NewTokens];
    var clock = Stopwatch.StartNew();
    double promptSeconds = 0;
    for (int s = 0; s < b; s++)
        for (int i = 0; i < PromptLength; i++) batch.Add((LLamaToken)rows[s][i], i, (LLamaSeqId)s, i == PromptLength - 1);
    for (int step = 0; step < NewTokens; step++)
    {
        var result = context.NativeHandle.Decode(batch);
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode failed at step {step} (batch {b}): {result}");
        for (int s = 0; s < b; s++)
        {
            var logits = context.NativeHandle.GetLogitsIth(step == 0 ? (s + 1) * PromptLength - 1 : s);
            int arg = 0;
            for (int v = 1; v < logits.Length; v++) if (logits[v] > logits[arg]) arg = v;
            next[s] = arg;
        }
        first[step] = next[0];
        if (step == 0) promptSeconds = clock.Elapsed.TotalSeconds;
        batch.Clear();
        for (int s = 0; s < b; s++) batch.Add((LLamaToken)next[s], PromptLength + step, (LLamaSeqId)s, true);
    }
    return (clock.Elapsed.TotalSeconds, promptSeconds, first);
}

var json = new JsonObject
{
    ["bench"] = "llama_cpp_side_by_side", ["parameters"] = parameters, ["prompt_tokens"] = PromptLength, ["new_tokens"] = NewTokens,
    ["threads"] = Threads, ["rounds"] = rounds, ["llama_cpp_build"] = level.ToString().ToLowerInvariant(),
    ["memory_bandwidth_bytes_per_second"] = Math.Round(bandwidth),
};
Console.WriteLine($"Aha vs llama.cpp (LLamaSharp 0.30, {level} build): d {config.HiddenSize}, {config.NumHiddenLayers} layers, {parameters:N0} parameters, " +
    $"prompt {PromptLength}, {NewTokens} new tokens, {Threads} threads, best of {rounds} alternated rounds; bandwidth {bandwidth / 1e9:F1} GB/s");
Console.WriteLine($"| batch | Aha f32 tokens/s | llama.cpp f32 tokens/s | llama.cpp f16 tokens/s | Aha ÷ llama.cpp f32 | Aha ÷ llama.cpp f16 |");
Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
foreach (var (table, suffix) in new[] { (best, ""), (bestDecode, "_decode") })
{
    if (suffix != "")
    {
        Console.WriteLine("\nThe decode steps alone (the prompt's prefill excluded, as llama-bench's tg test counts), tokens/s:");
        Console.WriteLine($"| batch | Aha f32 | llama.cpp f32 | llama.cpp f16 | Aha ÷ llama.cpp f32 | Aha ÷ llama.cpp f16 |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
    }
    foreach (int b in batches)
    {
        double aha = table[("aha", b)], f32 = table[("llama.cpp f32", b)], f16 = table[("llama.cpp f16", b)];
        Console.WriteLine($"| {b} | {aha:N0} | {f32:N0} | {f16:N0} | {aha / f32:F2} | {aha / f16:F2} |");
        json[$"aha_tokens_per_second{suffix}_b{b}"] = Math.Round(aha, 1);
        json[$"llama_cpp_f32_tokens_per_second{suffix}_b{b}"] = Math.Round(f32, 1);
        json[$"llama_cpp_f16_tokens_per_second{suffix}_b{b}"] = Math.Round(f16, 1);
        json[$"ratio_f32{suffix}_b{b}"] = Math.Round(aha / f32, 3);
        json[$"ratio_f16{suffix}_b{b}"] = Math.Round(aha / f16, 3);
    }
}
if (batches.Contains(1))
{
    Console.WriteLine();
    Console.WriteLine("| batch 1 | weight bytes per token | bandwidth bound tokens/s | reached | decode steps alone reached |");
    Console.WriteLine("|---|---:|---:|---:|---:|");
    foreach (var side in new[] { "aha", "llama.cpp f32", "llama.cpp f16" })
    {
        double bound = bandwidth / weightBytes[side], fraction = best[(side, 1)] / bound, decodeFraction = bestDecode[(side, 1)] / bound;
        Console.WriteLine($"| {side} | {weightBytes[side] / 1e6:F1} MB | {bound:N0} | {fraction:P0} | {decodeFraction:P0} |");
        string key = side.Replace("llama.cpp ", "llama_cpp_");
        json[$"bandwidth_bound_fraction_b1_{key}"] = Math.Round(fraction, 4);
        json[$"bandwidth_bound_fraction_decode_b1_{key}"] = Math.Round(decodeFraction, 4);
    }
    // The same model on both sides: greedy tokens agree until float rounding (llama.cpp's f16 KV cache, flash attention) tips a near tie.
    int same = firstRows["aha"].Zip(firstRows["llama.cpp f32"]).TakeWhile(p => p.First == p.Second).Count();
    Console.WriteLine($"\nbatch-1 greedy tokens identical before the first difference, Aha vs llama.cpp f32: {same}/{NewTokens}");
    json["greedy_prefix_agreement_b1_f32"] = same;
}
Directory.Delete(folder, recursive: true);
Console.WriteLine(json.ToJsonString());
