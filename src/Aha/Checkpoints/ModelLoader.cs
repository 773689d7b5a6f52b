using Aha.Model;
using TorchSharp;

namespace Aha.Checkpoints;

/// <summary>Opens what a user points at, a run folder (with a <c>latest</c> pointer) or one checkpoint folder, and builds its model.</summary>
public static class ModelLoader
{
    /// <summary>The checkpoint <c>path/latest</c> names when there is one, else the checkpoint folder <paramref name="path"/> itself.</summary>
    public static Checkpoint Open(string path)
    {
        if (!Directory.Exists(path))
            throw new DirectoryNotFoundException($"{path}: no such folder. Give a run folder (with a '{Checkpoint.LatestFile}' file) or a checkpoint folder (with {Checkpoint.ConfigFile}).");
        if (File.Exists(Path.Combine(path, Checkpoint.LatestFile))) return Checkpoint.LoadLatest(path);
        if (File.Exists(Path.Combine(path, Checkpoint.ConfigFile))) return Checkpoint.Open(path);
        throw new FileNotFoundException($"{path} has neither a '{Checkpoint.LatestFile}' pointer nor {Checkpoint.ConfigFile}: it is not a run or checkpoint folder. Point at the folder a trainer wrote, or one of its step-* folders.");
    }

    /// <summary>
    /// <see cref="Open"/> then <see cref="Load"/>, safe against a live run: a trainer pruning old checkpoints can delete
    /// the folder <c>latest</c> named a moment ago. When a read fails and <c>latest</c> has moved since, the new one is
    /// opened instead (up to ten times); a failure while the pointer stands still is a real error and is thrown.
    /// </summary>
    public static (LlamaModel Model, Checkpoint Checkpoint) OpenAndLoad(string path, torch.Device? device = null, torch.ScalarType dtype = torch.ScalarType.Float32)
    {
        string pointer = Path.Combine(path, Checkpoint.LatestFile);
        for (int attempt = 1; ; attempt++)
        {
            string? before = ReadPointer(pointer);
            try
            {
                var checkpoint = Open(path);
                return (Load(checkpoint, device, dtype), checkpoint);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException
                && attempt < 10 && before is not null && ReadPointer(pointer) != before)
            {
                // The run saved a newer checkpoint and pruned this one: read the pointer again.
            }
        }
    }

    static string? ReadPointer(string pointer)
    {
        try { return File.Exists(pointer) ? File.ReadAllText(pointer).Trim() : null; }
        catch (IOException) { return null; }
    }

    /// <summary>A model of the checkpoint's shape with its weights, on <paramref name="device"/> (default CPU).</summary>
    /// <param name="dtype">compute dtype of the parameters (default float32); the stored weights are converted tensor by tensor</param>
    public static LlamaModel Load(Checkpoint checkpoint, torch.Device? device = null, torch.ScalarType dtype = torch.ScalarType.Float32)
    {
        var model = new LlamaModel(checkpoint.Config, device, initialize: false); // LoadModel checks that every weight is stored
        try
        {
            if (dtype != torch.ScalarType.Float32) model.to(dtype); // before loading, so file values round once, into the compute dtype
            checkpoint.LoadModel(model);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }
}
