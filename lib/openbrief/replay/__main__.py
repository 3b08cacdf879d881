from openbrief.replay.server import main

raise SystemExit(main())
