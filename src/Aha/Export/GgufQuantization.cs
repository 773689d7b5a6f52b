namespace Aha.Export;

/// <summary>ggml's F16 and Q8_0 encodings of float32 values, byte for byte as its reference quantizer writes them.</summary>
public static class GgufQuantization
{
    /// <summary>Half-precision bytes (little-endian), each value rounded to nearest even.</summary>
    public static byte[] ToF16(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++)
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 2), (Half)values[i]);
        return bytes;
    }

    /// <summary>
    /// Q8_0 blocks of 32 values: the f16 scale d = max|x| / 127, then round(x / d) as signed bytes, rounding halves away from
    /// zero (C's <c>roundf</c>) as <c>quantize_row_q8_0_ref</c> does, with the fp32 d (not its f16 rounding) dividing.
    /// </summary>
    public static byte[] ToQ8_0(ReadOnlySpan<float> values)
    {
        const int block = GgufWriter.Q8BlockSize;
        if (values.Length % block != 0) throw new ArgumentException($"Q8_0 needs a multiple of {block} values (got {values.Length}).", nameof(values));
        var bytes = new byte[values.Length / block * (2 + block)];
        for (int b = 0; b < values.Length / block; b++)
        {
            var x = values.Slice(b * block, block);
            float amax = 0;
            foreach (float v in x) amax = Math.Max(amax, Math.Abs(v));
            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            var output = bytes.AsSpan(b * (2 + block), 2 + block);
            BitConverter.TryWriteBytes(output, (Half)d);
            for (int j = 0; j < block; j++)
                output[2 + j] = unchecked((byte)(sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero));
        }
        return bytes;
    }

    /// <summary>The values a Q8_0 encoding stands for (d·q per block), for measuring what quantization changed.</summary>
    public static float[] FromQ8_0(ReadOnlySpan<byte> bytes)
    {
        const int block = GgufWriter.Q8BlockSize;
        int blocks = bytes.Length / (2 + block);
        var values = new float[blocks * block];
        for (int b = 0; b < blocks; b++)
        {
            var input = bytes.Slice(b * (2 + block), 2 + block);
            float d = (float)BitConverter.ToHalf(input);
            for (int j = 0; j < block; j++) values[b * block + j] = d * (sbyte)input[2 + j];
        }
        return values;
    }
}
