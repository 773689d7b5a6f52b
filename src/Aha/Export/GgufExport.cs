using System.Globalization;
using System.Text.RegularExpressions;
using Aha.Checkpoints;
using Aha.Model;
using Aha.Tokenizer;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Export;

/// <summary>What <see cref="GgufExport.Write"/> wrote.</summary>
/// <param name="Architecture">general.architecture: llama, qwen2 or qwen3</param>
/// <param name="TensorTypes">how many tensors of each encoding (Q8_0 falls back to F16 for rows not a multiple of 32, as llama.cpp's converter does)</param>
public sealed record GgufExportResult(string Path, long Bytes, string Architecture, int Tensors, IReadOnlyDictionary<GgufTensorType, int> TensorTypes, GgufVocabulary Vocabulary);

/// <summary>
/// A checkpoint as the GGUF file llama.cpp (and Ollama) load: the architecture's metadata keys, llama.cpp's tensor names,
/// the byte-level BPE tokenizer and the chat template, in f32, f16 or q8_0. Mirrors what llama.cpp's
/// <c>convert_hf_to_gguf.py</c> writes for <c>LlamaForCausalLM</c>, <c>Qwen2ForCausalLM</c> and <c>Qwen3ForCausalLM</c>.
/// </summary>
public static partial class GgufExport
{
    /// <summary>The families GGUF export handles, by config.json model_type (also general.architecture).</summary>
    public static IReadOnlyList<string> Families { get; } = ["llama", "qwen2", "qwen3"];

    /// <summary>Opens a checkpoint (or run folder), merges a LoRA adapter into it when given, and writes it to <paramref name="outPath"/>.</summary>
    public static GgufExportResult Write(string modelPath, string? adapterPath, string outPath, GgufTensorType type)
    {
        var adapter = adapterPath is null ? null : AdapterCheckpoint.Open(adapterPath);
        // fp32 compute, as `aha merge` does: a merged W + s·B·A is formed in fp32 and rounded once, into the file's encoding.
        var (model, checkpoint) = ModelLoader.OpenAndLoad(modelPath, CPU, ScalarType.Float32);
        using var _ = model;
        if (adapter is not null)
        {
            adapter.AttachTo(model);
            model.MergeLora();
        }
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelPath)));
        return Write(model, checkpoint.Tokenizer, outPath, type, name);
    }

    /// <summary>Writes <paramref name="model"/> with <paramref name="tokenizer"/>'s vocabulary to <paramref name="outPath"/>.</summary>
    public static GgufExportResult Write(LlamaModel model, ITokenizer tokenizer, string outPath, GgufTensorType type, string name = "aha")
    {
        var config = model.Config;
        string arch = config.ModelType;
        if (config.IsDeepSeekV3 || !Families.Contains(arch))
            throw new NotSupportedException($"GGUF export handles the {string.Join(", ", Families)} families; this checkpoint is '{(config.IsDeepSeekV3 ? "deepseek_v3" : arch)}'.");
        var vocabulary = GgufVocabulary.From(tokenizer, config.VocabSize, config.BosTokenId, config.EosTokenId);

        var gguf = new GgufWriter();
        gguf.Add("general.architecture", arch);
        gguf.Add("general.name", name);
        gguf.Add("general.file_type", type switch { GgufTensorType.F32 => 0u, GgufTensorType.F16 => 1u, _ => 7u });
        gguf.Add($"{arch}.vocab_size", (uint)config.VocabSize);
        gguf.Add($"{arch}.context_length", (uint)config.MaxPositionEmbeddings);
        gguf.Add($"{arch}.embedding_length", (uint)config.HiddenSize);
        gguf.Add($"{arch}.block_count", (uint)config.NumHiddenLayers);
        gguf.Add($"{arch}.feed_forward_length", (uint)config.IntermediateSize);
        gguf.Add($"{arch}.attention.head_count", (uint)config.NumAttentionHeads);
        gguf.Add($"{arch}.attention.head_count_kv", (uint)config.NumKeyValueHeads);
        if (config.HasExplicitHeadDim)
        {
            gguf.Add($"{arch}.attention.key_length", (uint)config.HeadDim);
            gguf.Add($"{arch}.attention.value_length", (uint)config.HeadDim);
        }
        gguf.Add($"{arch}.rope.dimension_count", (uint)config.HeadDim);
        gguf.Add($"{arch}.rope.freq_base", (float)config.RopeTheta);
        gguf.Add($"{arch}.attention.layer_norm_rms_epsilon", (float)config.RmsNormEps);
        AddVocabulary(gguf, vocabulary);

        var counts = new Dictionary<GgufTensorType, int>();
        var stateDict = model.state_dict();
        int tensors = 0;
        foreach (var (hfName, tensor) in stateDict)
        {
            string ggufName = TensorName(hfName);
            long[] shape = tensor.shape;
            // 1-D tensors (norms, biases) stay f32, as the converter keeps them; q8_0 needs rows of whole blocks, else f16.
            var encoding = shape.Length == 1 ? GgufTensorType.F32
                : type == GgufTensorType.Q8_0 && shape[^1] % GgufWriter.Q8BlockSize != 0 ? GgufTensorType.F16 : type;
            var source = tensor;
            gguf.AddTensor(ggufName, shape, encoding, () => Values(source, hfName, config));
            counts[encoding] = counts.GetValueOrDefault(encoding) + 1;
            tensors++;
        }
        if (config.RopeScaling is { } scaling)
        {
            // llama.cpp applies Llama 3's scaling as per-frequency divisors of the rotary angles (rope_freqs).
            gguf.AddTensor("rope_freqs.weight", [config.HeadDim / 2], GgufTensorType.F32, () => Llama3RopeFactors(config.HeadDim, config.RopeTheta, scaling));
            counts[GgufTensorType.F32] = counts.GetValueOrDefault(GgufTensorType.F32) + 1;
            tensors++;
        }
        long bytes = gguf.Write(outPath);
        return new GgufExportResult(Path.GetFullPath(outPath), bytes, arch, tensors, counts, vocabulary);
    }

    static void AddVocabulary(GgufWriter gguf, GgufVocabulary v)
    {
        gguf.Add("tokenizer.ggml.model", "gpt2");
        gguf.Add("tokenizer.ggml.pre", v.PreTokenizer);
        gguf.Add("tokenizer.ggml.tokens", v.Tokens);
        gguf.Add("tokenizer.ggml.token_type", v.TokenTypes);
        gguf.Add("tokenizer.ggml.merges", v.Merges);
        if (v.BosId is { } bos) gguf.Add("tokenizer.ggml.bos_token_id", (uint)bos);
        if (v.EosId is { } eos) gguf.Add("tokenizer.ggml.eos_token_id", (uint)eos);
        if (v.PadId is { } pad) gguf.Add("tokenizer.ggml.padding_token_id", (uint)pad);
        gguf.Add("tokenizer.ggml.add_bos_token", v.AddBos);
        gguf.Add("tokenizer.ggml.add_eos_token", v.AddEos);
        if (v.ChatTemplate is { } template) gguf.Add("tokenizer.chat_template", template);
    }

    [GeneratedRegex(@"^model\.layers\.(\d+)\.(.+)$")]
    private static partial Regex LayerName();

    static readonly Dictionary<string, string> LayerTensors = new()
    {
        ["self_attn.q_proj"] = "attn_q", ["self_attn.k_proj"] = "attn_k", ["self_attn.v_proj"] = "attn_v", ["self_attn.o_proj"] = "attn_output",
        ["self_attn.q_norm"] = "attn_q_norm", ["self_attn.k_norm"] = "attn_k_norm",
        ["mlp.gate_proj"] = "ffn_gate", ["mlp.up_proj"] = "ffn_up", ["mlp.down_proj"] = "ffn_down",
        ["input_layernorm"] = "attn_norm", ["post_attention_layernorm"] = "ffn_norm",
    };

    /// <summary>llama.cpp's name of a Hugging Face state-dict key (<c>model.layers.3.mlp.up_proj.weight</c> → <c>blk.3.ffn_up.weight</c>).</summary>
    public static string TensorName(string hfName)
    {
        switch (hfName)
        {
            case "model.embed_tokens.weight": return "token_embd.weight";
            case "model.norm.weight": return "output_norm.weight";
            case "lm_head.weight": return "output.weight";
        }
        var m = LayerName().Match(hfName);
        int dot = m.Success ? m.Groups[2].Value.LastIndexOf('.') : -1;
        if (dot > 0 && LayerTensors.TryGetValue(m.Groups[2].Value[..dot], out var tensor))
            return $"blk.{m.Groups[1].Value}.{tensor}{m.Groups[2].Value[dot..]}";
        throw new NotSupportedException($"state-dict key '{hfName}' has no llama.cpp tensor name; GGUF export handles dense llama/qwen2/qwen3 weights (merge LoRA adapters with --adapter).");
    }

    /// <summary>
    /// The float32 values of one tensor as the file stores them. For the llama architecture the q and k rows are permuted
    /// within each head from Hugging Face's rotate-half layout (pairs i, i+D/2) to llama.cpp's adjacent pairs (2i, 2i+1), as
    /// the converter's <c>LlamaModel.permute</c> does; qwen2/qwen3 use llama.cpp's NEOX rope and keep the layout.
    /// </summary>
    static float[] Values(Tensor tensor, string hfName, ModelConfig config)
    {
        using var scope = NewDisposeScope();
        var t = tensor.detach().to(float32).cpu();
        if (config.ModelType == "llama")
        {
            if (hfName.Contains(".self_attn.q_proj.", StringComparison.Ordinal)) t = PermuteForInterleavedRope(t, config.NumAttentionHeads);
            else if (hfName.Contains(".self_attn.k_proj.", StringComparison.Ordinal)) t = PermuteForInterleavedRope(t, config.NumKeyValueHeads);
        }
        return t.contiguous().data<float>().ToArray();
    }

    /// <summary>Rows of each head reordered (2, D/2) → (D/2, 2): row i of the first half lands at 2i, of the second at 2i+1.</summary>
    public static Tensor PermuteForInterleavedRope(Tensor weight /* (H·D, in) or (H·D) */, int heads)
    {
        long rows = weight.shape[0];
        long[] inner = weight.shape[1..];
        return weight.reshape([heads, 2, rows / heads / 2, .. inner]).transpose(1, 2).reshape(weight.shape);
    }

    /// <summary>
    /// Llama 3's scaling as llama.cpp's per-frequency divisors: 1 for short wavelengths, factor for long ones and
    /// 1 / ((1 − s)/factor + s) between, with s the blend transformers' <c>_compute_llama3_parameters</c> uses.
    /// </summary>
    static float[] Llama3RopeFactors(int headDim, double theta, RopeScaling s)
    {
        double low = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor, high = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
        var factors = new float[headDim / 2];
        for (int i = 0; i < factors.Length; i++)
        {
            float invFreq = 1.0f / MathF.Pow((float)theta, 2 * i / (float)headDim);
            double wavelength = 2 * Math.PI / invFreq;
            double smooth = (s.OriginalMaxPositionEmbeddings / wavelength - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
            factors[i] = wavelength < high ? 1f : wavelength > low ? (float)s.Factor : (float)(1 / ((1 - smooth) / s.Factor + smooth));
        }
        return factors;
    }

    /// <summary>Parses <c>f32</c>, <c>f16</c> or <c>q8_0</c>.</summary>
    public static GgufTensorType ParseType(string text) => text.ToLower(CultureInfo.InvariantCulture) switch
    {
        "f32" => GgufTensorType.F32,
        "f16" => GgufTensorType.F16,
        "q8_0" => GgufTensorType.Q8_0,
        _ => throw new ArgumentException($"--type '{text}' is not a GGUF type Aha writes; use f32, f16 or q8_0."),
    };
}
