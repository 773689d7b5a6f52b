namespace Aha.Checkpoints;

/// <summary>One tensor's entry in a safetensors header: dtype name (F32, BF16, I64, …), shape and byte range in the data section.</summary>
public sealed record SafeTensorInfo(string Name, string Dtype, long[] Shape, long Begin, long End)
{
    /// <summary>Shape as text, e.g. [2, 3]; [] for a scalar.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
