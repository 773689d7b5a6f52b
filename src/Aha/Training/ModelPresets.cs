using Aha.Model;
using Aha.Tokenizer;

namespace Aha.Training;

/// <summary>Named model shapes for <c>--model-size</c>, all with the byte tokenizer's vocabulary and a SwiGLU width of about 8/3·C.</summary>
public static class ModelPresets
{
    /// <summary>The preset names, smallest first.</summary>
    public static IReadOnlyList<string> Names { get; } = ["tiny", "small", "medium", "base"];

    /// <summary>The shape called <paramref name="name"/>, with room for at least <paramref name="contextLength"/> positions.</summary>
    public static ModelConfig Get(string name, int contextLength = 1024)
    {
        var (hidden, layers, heads, ffn) = name switch
        {
            "tiny" => (64, 2, 4, 172),        // ≈0.1M parameters: tests and smoke runs
            "small" => (128, 4, 4, 344),      // ≈0.8M
            "medium" => (256, 6, 8, 688),     // ≈4.9M
            "base" => (512, 8, 8, 1376),      // ≈25.6M: the bench model
            _ => throw new ArgumentException($"--model-size '{name}': expected one of {string.Join(", ", Names)}."),
        };
        return new ModelConfig
        {
            VocabSize = ByteTokenizer.VocabSize, HiddenSize = hidden, NumHiddenLayers = layers, NumAttentionHeads = heads,
            NumKeyValueHeads = heads, IntermediateSize = ffn, MaxPositionEmbeddings = Math.Max(contextLength, 1024),
            BosTokenId = ByteTokenizer.Bos, EosTokenId = ByteTokenizer.Eos, PadTokenId = ByteTokenizer.Pad,
        }.Validate();
    }

    /// <summary>The tokenizer of every preset, the byte tokenizer, with <paramref name="config"/>'s context as its <c>model_max_length</c>.</summary>
    public static ITokenizer Tokenizer(ModelConfig config) => new ByteTokenizer(config.MaxPositionEmbeddings);
}
