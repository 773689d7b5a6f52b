using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Aha.Checkpoints;

/// <summary>
/// The weights of a checkpoint folder as the Hub ships them: one <c>model.safetensors</c>, or shards named by
/// <c>model.safetensors.index.json</c>'s weight_map. Loading streams one tensor at a time (read by offset → convert →
/// copy into the parameter), so no second copy of the model is ever held in memory.
/// </summary>
public static class WeightFiles
{
    /// <summary>The index of a sharded checkpoint.</summary>
    public const string IndexFile = "model.safetensors.index.json";

    /// <summary>Whether <paramref name="directory"/> holds weights: model.safetensors or a shard index.</summary>
    public static bool Exist(string directory) =>
        File.Exists(Path.Combine(directory, Checkpoint.ModelFile)) || File.Exists(Path.Combine(directory, IndexFile));

    /// <summary>The validated header of every weights file, in shard order; a sharded folder's weight_map is checked against them.</summary>
    public static IReadOnlyList<SafeTensorsHeader> Headers(string directory)
    {
        string single = Path.Combine(directory, Checkpoint.ModelFile);
        string index = Path.Combine(directory, IndexFile);
        if (!File.Exists(index)) return [SafeTensors.ReadHeader(single)];
        var map = ReadWeightMap(index);
        var headers = map.Values.Distinct().Order(StringComparer.Ordinal).Select(file =>
        {
            string path = Path.Combine(directory, file);
            if (!File.Exists(path))
                throw new FileNotFoundException($"{index} names the shard {file}, but {path} is missing. Download the checkpoint's missing shard.", path);
            return SafeTensors.ReadHeader(path);
        }).ToList();
        var where = new Dictionary<string, string>();
        foreach (var header in headers)
            foreach (var info in header.Tensors)
            {
                string file = Path.GetFileName(header.Path);
                if (!where.TryAdd(info.Name, file))
                    throw new InvalidDataException($"{directory}: tensor '{info.Name}' is in both {where[info.Name]} and {file}; a checkpoint holds each tensor once.");
                if (!map.TryGetValue(info.Name, out var mapped) || mapped != file)
                    throw new InvalidDataException($"{index}: weight_map puts '{info.Name}' in {(mapped ?? "no file")}, but it is in {file}. Fix the index or re-download the checkpoint.");
            }
        var absent = map.Keys.Where(n => !where.ContainsKey(n)).ToList();
        if (absent.Count > 0)
            throw new InvalidDataException($"{index}: weight_map names {absent.Count} tensors no shard holds (first: '{absent[0]}'). The shards are incomplete; re-download them.");
        return headers;
    }

    /// <summary>One header listing the tensors of every weights file (named after the index when sharded), for name and shape checks.</summary>
    public static SafeTensorsHeader Combined(string directory, IReadOnlyList<SafeTensorsHeader> headers) =>
        headers.Count == 1 ? headers[0]
            : new SafeTensorsHeader(Path.Combine(directory, IndexFile), new Dictionary<string, string>(), headers.SelectMany(h => h.Tensors).ToList(), 0);

    static Dictionary<string, string> ReadWeightMap(string index)
    {
        try
        {
            var node = JsonNode.Parse(File.ReadAllText(index))?["weight_map"]?.AsObject()
                ?? throw new InvalidDataException($"{index}: no \"weight_map\" object; a shard index maps each tensor name to its file.");
            var map = new Dictionary<string, string>();
            foreach (var (name, file) in node)
            {
                string f = file?.GetValue<string>() ?? "";
                if (f.Length == 0 || f != Path.GetFileName(f))
                    throw new InvalidDataException($"{index}: weight_map['{name}'] is '{f}', not a file name in the same folder.");
                map[name] = f;
            }
            return map;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{index}: not a shard index ({e.Message}). Re-download it.", e);
        }
    }

    /// <summary>
    /// Copies every stored tensor into <paramref name="target"/> (a state dict), converting dtype on the way, after
    /// checking names and shapes against all files at once. <paramref name="required"/>: target entries that must be stored.
    /// </summary>
    public static void LoadInto(string directory, IReadOnlyDictionary<string, Tensor> target, IReadOnlySet<string> required, Model.ModelConfig config)
    {
        var headers = Headers(directory);
        StateDictCheck.ThrowIfMismatched(Combined(directory, headers), target, required, config);
        using var noGrad = no_grad();
        foreach (var header in headers)
        {
            using var handle = File.OpenHandle(header.Path);
            foreach (var info in header.Tensors)
            {
                using var scope = NewDisposeScope();
                var loaded = SafeTensorsReader.ReadTensor(handle, header, info); // in the file's dtype: at most one tensor's bytes extra
                target[info.Name].copy_(loaded);                                 // converts dtype/device into the parameter
            }
        }
    }
}
