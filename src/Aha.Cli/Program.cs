using System.CommandLine;
using Aha.Cli.Commands;

var root = new RootCommand("Aha: train small reasoning language models with reinforcement learning (GRPO, R1-Zero style) on a CPU, in .NET.");
foreach (var command in new[]
{
    InfoCommand.Create(),
    TasksCommand.Create(),
    ScoreCommand.Create(),
    PretrainCommand.Create(),
    SftCommand.Create(),
    DistillCommand.Create(),
    GenerateCommand.Create(),
    ServeCommand.Create(),
    ChatCommand.Create(),
    ChatTemplateCommand.Create(),
    EvalCommand.Create(),
    ReportCommand.Create(),
    GrpoCommand.Create(),
    PrefsCommand.Create(),
    DpoCommand.Create(),
    RmCommand.Create(),
    PpoCommand.Create(),
    CaiCommand.Create(),
    CompareCommand.Create(),
    MergeCommand.Create(),
    ExportCommand.Create(),
    DemoCommand.Create(),
    PipelineCommand.Create(),
    BenchCommand.Create(),
    TokenizeCommand.Create(),
})
    root.Subcommands.Add(command);

return await root.Parse(args).InvokeAsync();
