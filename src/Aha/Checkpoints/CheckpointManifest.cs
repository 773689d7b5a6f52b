using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aha.Checkpoints;

/// <summary>
/// manifest.json: every other file of a checkpoint folder with its size and SHA-256, written inside the atomic save
/// (before the rename), so a resume can tell a complete, unchanged checkpoint from a damaged one, down to one flipped bit.
/// </summary>
public static class CheckpointManifest
{
    /// <summary>The manifest's file name inside a checkpoint folder.</summary>
    public const string FileName = "manifest.json";
    const string Format = "aha-checkpoint-manifest/1";

    /// <summary>Hashes every file in <paramref name="folder"/> (not below it) and writes manifest.json there.</summary>
    public static void Write(string folder)
    {
        var files = new JsonObject();
        foreach (string path in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(path);
            if (name == FileName) continue;
            files[name] = new JsonObject { ["size"] = new FileInfo(path).Length, ["sha256"] = Sha256(path) };
        }
        var manifest = new JsonObject { ["format"] = Format, ["files"] = files };
        string target = Path.Combine(folder, FileName);
        SaveFaults.BeforeWrite(target);
        File.WriteAllText(target, manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>
    /// Checks <paramref name="folder"/> against its manifest: null when every listed file is present with its size and
    /// hash, else one sentence naming the first file that differs and how. A folder without a manifest (saved by an
    /// older version) is not an error: <paramref name="present"/> is then false.
    /// </summary>
    public static string? Verify(string folder, out bool present)
    {
        string path = Path.Combine(folder, FileName);
        present = File.Exists(path);
        if (!present) return null;
        JsonObject files;
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new JsonException("empty document");
            if (root["format"]?.GetValue<string>() != Format) return $"{path}: format is not \"{Format}\"; it was not written by this version of Aha, or is damaged";
            files = root["files"]?.AsObject() ?? throw new JsonException("no \"files\" object");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return $"{path} is unreadable ({e.Message.Split('\n')[0]})";
        }
        foreach (var (name, entry) in files)
        {
            string file = Path.Combine(folder, name);
            if (name.IndexOfAny(['/', '\\']) >= 0 || name.StartsWith('.')) return $"{path} lists '{name}', which is not a plain file name";
            long size;
            string? sha;
            try
            {
                size = entry?["size"]?.GetValue<long>() ?? throw new FormatException("no size");
                sha = entry["sha256"]?.GetValue<string>() ?? throw new FormatException("no sha256");
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            {
                return $"{path}: the entry for {name} is malformed ({e.Message})";
            }
            if (!File.Exists(file)) return $"{file} is missing (listed in {FileName})";
            long actual = new FileInfo(file).Length;
            if (actual != size) return $"{file} is {actual} bytes, but {FileName} says {size}: {(actual < size ? "truncated" : "grown")} after the save";
            if (!string.Equals(Sha256(file), sha, StringComparison.Ordinal)) // written lowercase: any changed byte of the manifest counts as damage too
                return $"{file}: SHA-256 differs from {FileName}: its bytes changed after the save (bit rot, a bad copy, or an edit)";
        }
        return null;
    }

    static string Sha256(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
