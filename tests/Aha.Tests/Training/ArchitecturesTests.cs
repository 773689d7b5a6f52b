using Aha.Model;
using Aha.Training;

namespace Aha.Tests.Training;

public class ArchitecturesTests
{
    public static TheoryData<string, string> SizesAndArchs()
    {
        var data = new TheoryData<string, string>();
        foreach (var size in ModelPresets.Names) foreach (var arch in Architectures.Names) data.Add(size, arch);
        return data;
    }

    [Theory]
    [MemberData(nameof(SizesAndArchs))]
    public void Every_arch_of_every_preset_validates_and_matches_the_dense_active_parameters_within_three_percent(string size, string arch)
    {
        var dense = ModelPresets.Get(size, 256);
        var config = Architectures.Apply(dense, arch);
        Assert.Same(config, config.Validate());
        Assert.Equal(arch != "llama", config.IsDeepSeekV3);
        Assert.Equal(arch is "mla" or "v3", config.UsesMla);
        Assert.Equal(arch is "moe" or "v3", config.UsesMoe);
        Assert.Equal(arch == "v3", config.UsesMtp);
        long denseActive = ModelSize.Of(dense).ActiveParameters, active = ModelSize.Of(config).ActiveParameters;
        Assert.InRange(Math.Abs(active - denseActive) / (double)denseActive, 0, 0.03);
        Assert.Equal(config, ModelConfig.FromJson(config.ToJson()));
    }

    [Theory]
    [InlineData("mla")]
    [InlineData("v3")]
    public void Latent_attention_caches_less_than_the_dense_model(string arch)
    {
        var dense = ModelPresets.Get("small", 256);
        Assert.True(ModelSize.Of(Architectures.Apply(dense, arch)).KvCacheBytesPerToken * 3 < ModelSize.Of(dense).KvCacheBytesPerToken);
    }

    [Fact]
    public void An_unknown_arch_is_refused_naming_the_choices()
    {
        var e = Assert.Throws<ArgumentException>(() => Architectures.Apply(ModelPresets.Get("tiny"), "mixtral"));
        Assert.Contains("--arch 'mixtral'", e.Message, StringComparison.Ordinal);
        Assert.Contains("llama, mla, moe, v3", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Architectures.Apply(Architectures.Apply(ModelPresets.Get("tiny"), "moe"), "v3"));
    }

    [Fact]
    public void The_default_demo_builds_the_same_dense_model_as_before_and_v3_builds_every_feature()
    {
        var llama = DemoOptions.Full.BaseModelConfig();
        Assert.Equal(new ModelConfig { HiddenSize = 128, NumHiddenLayers = 4, NumAttentionHeads = 4, NumKeyValueHeads = 4, IntermediateSize = 336, MaxPositionEmbeddings = 256 }, llama);
        var v3 = (DemoOptions.Quick with { Arch = "v3" }).Validate().BaseModelConfig();
        Assert.True(v3.UsesMla && v3.UsesMoe && v3.UsesMtp);
        Assert.Contains("arch 'gpt'", Assert.Throws<ArgumentException>(() => (DemoOptions.Full with { Arch = "gpt" }).Validate()).Message, StringComparison.Ordinal);
    }
}
