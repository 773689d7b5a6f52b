using System.Runtime.Intrinsics.X86;
using LLama;
using LLama.Common;
using LLama.Native;

namespace Aha.Tests.Export;

/// <summary>
/// llama.cpp itself (LLamaSharp 0.30's CPU build) as the oracle for exported GGUF files: its tokenizer and greedy decoding.
/// The native library is chosen explicitly — the AVX-512 build where the CPU has it, else AVX2 — with no silent fallback,
/// so a machine where it cannot load fails these tests with the reason instead of skipping them.
/// </summary>
static class LlamaCpp
{
    static readonly Lazy<string> Loaded = new(Load);

    /// <summary>Which native build was loaded (e.g. "avx512"); loads it on first use and throws if it cannot.</summary>
    public static string Build => Loaded.Value;

    static string Load()
    {
        var level = Avx512F.IsSupported ? AvxLevel.Avx512 : Avx2.IsSupported ? AvxLevel.Avx2 : AvxLevel.None;
        try
        {
            NativeLibraryConfig.All.WithAvx(level).WithAutoFallback(false).WithCuda(false).WithVulkan(false)
                .WithLogCallback((_, _) => { }); // llama.cpp logs every load; the tests report what they compare instead
            NativeApi.llama_empty_call();
        }
        catch (Exception e)
        {
            throw new InvalidOperationException(
                $"llama.cpp's native library (LLamaSharp.Backend.Cpu, {level} build) did not load: {e.GetBaseException().Message}. " +
                "The GGUF export tests need it; restore the NuGet packages (dotnet restore) on linux-x64 with glibc.", e);
        }
        return level.ToString().ToLowerInvariant();
    }

    /// <summary>
    /// Loads <paramref name="gguf"/> and its context (2 threads, one sequence, <paramref name="context"/> positions) with an
    /// f32 KV cache and flash attention off: llama.cpp's CPU flash attention (on by default) computes in f16, which alone
    /// moves logits by ~1e-3 relative; without it its f32 logits agree with Aha's to ~1e-5.
    /// </summary>
    public static (LLamaWeights Weights, LLamaContext Context) Open(string gguf, uint context = 512)
    {
        _ = Build;
        var parameters = new ModelParams(gguf)
        {
            ContextSize = context, BatchSize = context, Threads = 2, GpuLayerCount = 0, TypeK = GGMLType.GGML_TYPE_F32, TypeV = GGMLType.GGML_TYPE_F32,
            FlashAttention = false,
        };
        var weights = LLamaWeights.LoadFromFile(parameters);
        return (weights, weights.CreateContext(parameters));
    }

    /// <summary>llama.cpp's ids of <paramref name="text"/>, special-token text parsed, BOS added when the file says so.</summary>
    public static int[] Tokenize(LLamaWeights weights, string text, bool addBos) =>
        weights.NativeHandle.Tokenize(text, addBos, special: true, System.Text.Encoding.UTF8).Select(t => (int)t).ToArray();

    /// <summary>The logits llama.cpp computes at every position of <paramref name="ids"/> in one decode: (T, V) row-major.</summary>
    public static float[][] Logits(LLamaContext context, IReadOnlyList<int> ids)
    {
        context.NativeHandle.MemoryClear(true);
        var batch = new LLamaBatch();
        for (int i = 0; i < ids.Count; i++) batch.Add((LLamaToken)ids[i], i, (LLamaSeqId)0, true);
        var result = context.NativeHandle.Decode(batch);
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode failed: {result}");
        return [.. Enumerable.Range(0, ids.Count).Select(i => context.NativeHandle.GetLogitsIth(i).ToArray())];
    }

    /// <summary>
    /// <paramref name="count"/> greedy tokens after <paramref name="prompt"/> (argmax of the logits, the lowest id on a tie
    /// as torch.argmax takes), and the smallest gap between the top two logits seen on the way.
    /// </summary>
    public static (int[] Tokens, float SmallestMargin) Greedy(LLamaContext context, IReadOnlyList<int> prompt, int count)
    {
        context.NativeHandle.MemoryClear(true);
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Count; i++) batch.Add((LLamaToken)prompt[i], i, (LLamaSeqId)0, i == prompt.Count - 1);
        var tokens = new int[count];
        float margin = float.MaxValue;
        for (int step = 0; step < count; step++)
        {
            var result = context.NativeHandle.Decode(batch);
            if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode failed at step {step}: {result}");
            var logits = context.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
            int best = 0;
            for (int v = 1; v < logits.Length; v++) if (logits[v] > logits[best]) best = v;
            float second = float.MinValue;
            for (int v = 0; v < logits.Length; v++) if (v != best) second = Math.Max(second, logits[v]);
            margin = Math.Min(margin, logits[best] - second);
            tokens[step] = best;
            batch.Clear();
            batch.Add((LLamaToken)best, prompt.Count + step, (LLamaSeqId)0, true);
        }
        return (tokens, margin);
    }
}
