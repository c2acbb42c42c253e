#pragma once
// The hanko-offline command line. main() only calls run_cli.
namespace hanko::offline {

int run_cli(int argc, char** argv);

}  // namespace hanko::offline
