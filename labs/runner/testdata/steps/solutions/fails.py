import sys
print("no greeting")
sys.exit(3)
