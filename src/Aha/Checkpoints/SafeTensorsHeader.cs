namespace Aha.Checkpoints;

/// <summary>The validated header of a safetensors file: its free-form metadata and its tensors in file order.</summary>
/// <param name="Path">The file the header came from (named in errors).</param>
/// <param name="DataStart">Byte offset of the data section: 8 + header length.</param>
public sealed record SafeTensorsHeader(string Path, IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<SafeTensorInfo> Tensors, long DataStart)
{
    /// <summary>The entry named <paramref name="name"/>, or null.</summary>
    public SafeTensorInfo? Find(string name) => Tensors.FirstOrDefault(t => t.Name == name);
}
