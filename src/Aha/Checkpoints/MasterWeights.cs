using static TorchSharp.torch;

namespace Aha.Checkpoints;

/// <summary>
/// The float32 master weights of a training checkpoint whose model is stored in a narrower dtype (a BF16 family checkpoint
/// keeps model.safetensors in BF16 so Hugging Face tools load it as published). They travel in optimizer.safetensors as
/// <c>master.{name}</c>, beside the AdamW moments, and a resume copies them over the weights model.safetensors rounded,
/// so a resumed run continues from exactly the weights it stopped with.
/// </summary>
public static class MasterWeights
{
    /// <summary>The key prefix of a master weight in optimizer.safetensors.</summary>
    public const string Prefix = "master.";

    /// <summary>
    /// <paramref name="optimizer"/> plus <c>master.{name}</c> for every floating weight whose dtype saving as
    /// <paramref name="storage"/> would change; <paramref name="optimizer"/> itself when none would.
    /// </summary>
    public static IReadOnlyDictionary<string, Tensor> With(IReadOnlyDictionary<string, Tensor> optimizer, IReadOnlyDictionary<string, Tensor> weights, ScalarType storage)
    {
        var rounded = weights.Where(w => w.Value.is_floating_point() && w.Value.dtype != storage).ToList();
        if (rounded.Count == 0) return optimizer;
        var result = new Dictionary<string, Tensor>(optimizer);
        foreach (var (name, tensor) in rounded) result[Prefix + name] = tensor;
        return result;
    }

    /// <summary>Copies every <c>master.{name}</c> of <paramref name="saved"/> into <paramref name="target"/> (a state dict); returns how many.</summary>
    public static int Restore(IReadOnlyDictionary<string, Tensor> target, IReadOnlyDictionary<string, Tensor> saved, string source)
    {
        int count = 0;
        using var noGrad = no_grad();
        foreach (var (key, value) in saved)
        {
            if (!key.StartsWith(Prefix, StringComparison.Ordinal)) continue;
            string name = key[Prefix.Length..];
            if (!target.TryGetValue(name, out var weight) || !weight.shape.SequenceEqual(value.shape))
                throw new InvalidDataException($"{source}: '{key}' has no weight of shape [{string.Join(", ", value.shape)}] named '{name}' in this model. Resume with the model the run was started with.");
            weight.copy_(value);
            count++;
        }
        return count;
    }
}
