using Aha.Model;
using static TorchSharp.torch;

namespace Aha.Checkpoints;

/// <summary>Compares a weights file with a model's state dict and reports every difference at once.</summary>
static class StateDictCheck
{
    const int ListAtMost = 8;

    /// <param name="required">Model entries that must be in the file: all but aliases of an earlier entry (tied weights).</param>
    public static void ThrowIfMismatched(SafeTensorsHeader file, IReadOnlyDictionary<string, Tensor> model, IReadOnlySet<string> required, ModelConfig fileConfig)
    {
        var inFile = file.Tensors.ToDictionary(t => t.Name);
        var missing = required.Where(n => !inFile.ContainsKey(n)).ToList();
        var unexpected = inFile.Keys.Where(n => !model.ContainsKey(n)).ToList();
        var shapes = inFile.Values
            .Where(t => model.TryGetValue(t.Name, out var m) && !m.shape.SequenceEqual(t.Shape))
            .Select(t => $"{t.Name}: {t.ShapeText} in the file, [{string.Join(", ", model[t.Name].shape)}] in the model")
            .ToList();
        if (missing.Count + unexpected.Count + shapes.Count == 0) return;

        var lines = new List<string> { $"{file.Path} does not match the model:" };
        if (missing.Count > 0) lines.Add($"  missing from the file ({missing.Count}): {List(missing)}");
        if (unexpected.Count > 0) lines.Add($"  in the file but not in the model ({unexpected.Count}): {List(unexpected)}");
        foreach (var s in shapes.Take(ListAtMost)) lines.Add($"  shape of {s}");
        if (shapes.Count > ListAtMost) lines.Add($"  … and {shapes.Count - ListAtMost} more shape differences");
        var c = fileConfig;
        lines.Add($"The checkpoint was saved from a model with hidden_size={c.HiddenSize}, num_hidden_layers={c.NumHiddenLayers}, " +
                  $"num_attention_heads={c.NumAttentionHeads}, num_key_value_heads={c.NumKeyValueHeads}, intermediate_size={c.IntermediateSize}, " +
                  $"vocab_size={c.VocabSize}, tie_word_embeddings={c.TieWordEmbeddings.ToString().ToLowerInvariant()} (its config.json). " +
                  "Build the model from that config (Checkpoint.Config), or load a checkpoint saved from this model's shape.");
        throw new InvalidDataException(string.Join("\n", lines));
    }

    static string List(List<string> names) =>
        string.Join(", ", names.Take(ListAtMost)) + (names.Count > ListAtMost ? $", … and {names.Count - ListAtMost} more" : "");
}
